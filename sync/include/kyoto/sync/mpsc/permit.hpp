// kyoto::sync::mpsc's permits: slots of a bounded channel reserved ahead of
// the send (tokio's Permit, OwnedPermit and PermitIterator), made by
// sender::reserve(), reserve_many(), reserve_owned() and their try_ forms.
// A permit's send() never waits and cannot fail.
#pragma once

#include <kyoto/runtime/detail/counted_ref.hpp>
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/mpsc_handles.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace kyoto::sync::mpsc {

template <class T>
class sender;
template <class T>
class permit_iterator;
template <class T>
class reserve_awaiter;
template <class T>
class reserve_many_awaiter;
template <class T>
class reserve_owned_awaiter;

/// One reserved slot of a bounded channel (tokio's Permit): send() puts a
/// value in it without waiting and cannot fail. Dropping an unused permit
/// gives the slot back (to the first waiting sender, if any).
///
/// Made by sender::reserve()/try_reserve() and permit_iterator::next(); it
/// borrows the channel, as tokio's Permit<'_> borrows its Sender: a sender
/// of the channel must outlive it (use owned_permit otherwise). A permit
/// taken before the receiver closed still delivers after close(), and
/// recv() waits for it. Move-only.
///
/// Thread safety: one permit is used by one thread at a time; any thread.
template <class T>
class [[nodiscard]] permit {
 public:
  /// Takes over `other`'s slot; `other` is left used up (its send()
  /// throws std::logic_error).
  permit(permit&&) noexcept = default;
  /// Gives this permit's unused slot back, then takes over `other`'s;
  /// `other` is left used up.
  permit& operator=(permit&&) noexcept = default;

  /// Sends `value` into the reserved slot and wakes the receiver; the
  /// permit is used up (a second send throws std::logic_error). Never
  /// waits, never fails: if the receiver is gone meanwhile the value is
  /// destroyed, as in tokio. If moving the value in throws, nothing is sent
  /// and the permit still holds its slot.
  void send(T value) {
    if (!slot_) kyoto::detail::throw_used_permit("kyoto::sync::mpsc::permit::send");
    slot_->send_permit(value);  // a value the receiver will never see dies below
    (void)slot_.release();      // the slot is used
  }

 private:
  friend class permit_iterator<T>;
  template <class>
  friend class reserve_awaiter;
  friend class sender<T>;

  explicit permit(kyoto::detail::chan<T>* c) noexcept : slot_(c) {}

  /// The reserved slot; dropping it gives the slot back. Empty once used
  /// or moved from.
  kyoto::detail::counted_ref<kyoto::detail::chan<T>, &kyoto::detail::chan<T>::release_permit> slot_;
};

/// `n` reserved slots of a bounded channel, handed out one permit at a
/// time (tokio's PermitIterator, from reserve_many()/try_reserve_many()).
/// Dropping it gives the slots not handed out back. It borrows the channel
/// as permit does. Move-only.
///
/// Thread safety: used by one thread at a time; the permits it hands out
/// are independent.
template <class T>
class [[nodiscard]] permit_iterator {
 public:
  /// Takes over `o`'s remaining slots; `o` is left with none.
  permit_iterator(permit_iterator&& o) noexcept
      : chan_(std::exchange(o.chan_, nullptr)), remaining_(std::exchange(o.remaining_, 0)) {}
  /// Gives back this iterator's slots not handed out, then takes over
  /// `o`'s; `o` is left with none.
  permit_iterator& operator=(permit_iterator&& o) noexcept {
    if (this != &o) {
      reset();
      chan_ = std::exchange(o.chan_, nullptr);
      remaining_ = std::exchange(o.remaining_, 0);
    }
    return *this;
  }
  permit_iterator(const permit_iterator&) = delete;
  permit_iterator& operator=(const permit_iterator&) = delete;
  ~permit_iterator() { reset(); }

  /// The next permit, or std::nullopt once all were handed out.
  std::optional<permit<T>> next() noexcept {
    if (remaining_ == 0) return std::nullopt;
    --remaining_;
    return permit<T>(chan_);
  }

  /// Permits not handed out yet (tokio's len()).
  std::size_t size() const noexcept { return remaining_; }
  /// Whether every permit was handed out.
  bool empty() const noexcept { return remaining_ == 0; }

 private:
  template <class>
  friend class reserve_many_awaiter;
  friend class sender<T>;

  permit_iterator(kyoto::detail::chan<T>* c, std::size_t n) noexcept : chan_(c), remaining_(n) {}
  void reset() noexcept {
    if (chan_ != nullptr)
      std::exchange(chan_, nullptr)->release_permits(std::exchange(remaining_, 0));
  }

  kyoto::detail::chan<T>* chan_;
  std::size_t remaining_;
};

/// A reserved slot that owns a sender of its channel (tokio's OwnedPermit,
/// from reserve_owned()/try_reserve_owned()): it keeps the channel open
/// and may outlive every other handle. send() gives the sender back;
/// dropping it unused gives the slot back, then drops the sender.
/// Move-only.
///
/// Thread safety: as permit.
template <class T>
class [[nodiscard]] owned_permit {
 public:
  /// Takes over `other`'s slot and sender; `other` is left used up.
  owned_permit(owned_permit&&) noexcept = default;
  /// Gives this permit's unused slot back and drops its sender, then
  /// takes over `other`'s; `other` is left used up.
  owned_permit& operator=(owned_permit&&) noexcept = default;

  /// Sends `value` into the reserved slot (as permit::send) and returns the
  /// sender. Throws std::logic_error once used (sent or released).
  sender<T> send(T value) {
    if (!ref_) kyoto::detail::throw_used_permit("kyoto::sync::mpsc::owned_permit::send");
    ref_->send_permit(value);
    return sender<T>(ref_.release());  // the sender's count goes with it
  }

  /// Gives the slot back without sending and returns the sender (tokio's
  /// release()). Throws std::logic_error once used.
  sender<T> release() {
    if (!ref_) kyoto::detail::throw_used_permit("kyoto::sync::mpsc::owned_permit::release");
    ref_->release_permits(1);
    return sender<T>(ref_.release());
  }

 private:
  template <class>
  friend class reserve_owned_awaiter;
  friend class sender<T>;

  /// Takes over `tx`'s sender count, plus a slot the caller reserved.
  explicit owned_permit(sender<T>&& tx) noexcept : ref_(tx.release()) {}

  /// One slot and one sender of the channel (the sender's count, adopted
  /// from a sender): dropping it gives the slot back, then drops the
  /// sender. Empty once used or moved from.
  kyoto::detail::counted_ref<kyoto::detail::chan<T>, &kyoto::detail::chan<T>::release_owned_permit>
      ref_;
};

}  // namespace kyoto::sync::mpsc

// owned_permit holds a sender (and bounded.hpp includes this header back).
#include <kyoto/sync/mpsc/bounded.hpp>
