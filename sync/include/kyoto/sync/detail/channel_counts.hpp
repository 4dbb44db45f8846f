// The handle counts of a channel with many senders (mpsc's chan and
// broadcast_shared): how many senders live, and how many handles of any
// kind. The channel closes when the sender count reaches zero (zero is
// final) and is freed when the handle count does. Copying and dropping
// handles touch only these atomics, never the channel's lock.
#pragma once

#include <kyoto/runtime/detail/config.hpp>

#include <cstddef>

namespace kyoto::detail {

/// A channel's sender and handle counts. Starts with one sender and two
/// handles (the sender and the receiver `channel()` returns).
class channel_counts {
 public:
  /// A sender is made from a live handle (a copy of a sender).
  void add_sender() noexcept {
    // Relaxed: the handle it is made from keeps both counts above zero
    // meanwhile (the shared_ptr argument).
    senders_.fetch_add(1, std::memory_order_relaxed);
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Adds a sender unless none is left (a weak sender's upgrade); the
  /// caller holds a handle. Returns whether it did.
  bool try_add_sender() noexcept {
    std::size_t n = senders_.load(std::memory_order_relaxed);
    do {
      if (n == 0) return false;  // final
      // Relaxed: an RMW reads the latest count in its modification order,
      // so it never revives a count that reached zero (the race with the
      // last drop_sender() decrement is decided by that order alone); the
      // new sender publishes nothing through the count, its sends go
      // through the channel's lock.
    } while (!senders_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed,
                                             std::memory_order_relaxed));
    // Relaxed: the caller's handle keeps refs_ above zero.
    refs_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /// A handle other than a sender is made from a live one (a receiver, a
  /// weak sender).
  void add_ref() noexcept {
    // Relaxed: the handle it is made from keeps refs_ above zero meanwhile.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }

  /// A sender goes. Returns true if it was the last one: the caller closes
  /// the channel, then drops the handle (drop_ref()).
  bool drop_sender() noexcept {
    // Acq_rel: each sender's decrement releases the sends it made; the last
    // one acquires them all, so the close that follows is ordered after
    // every send. Pairs also with the acquire load in senders().
    return senders_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

  /// A handle goes. Returns true if it was the last one: the caller frees
  /// the channel.
  bool drop_ref() noexcept {
    // Acq_rel: the last owner sees every other owner's writes before it
    // frees the channel (release by each decrement, acquire by the last).
    return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

  /// The live senders now. Any thread.
  std::size_t senders() const noexcept {
    // Acquire: pairs with drop_sender()'s decrement: a reader that sees no
    // sender sees every send made before the last one went.
    return senders_.load(std::memory_order_acquire);
  }

 private:
  /// Live senders. Written by sender copies, drops and upgrades.
  atomic<std::size_t> senders_{1};
  /// Live handles; the last one frees the channel.
  atomic<std::size_t> refs_{2};
};

}  // namespace kyoto::detail
