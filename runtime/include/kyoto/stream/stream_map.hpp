// kyoto::stream_map<K, S>: many streams, keyed, read as one (tokio-stream's
// StreamMap).
//
// # How next() waits on every stream at once
//
// Every inserted stream is (or is wrapped into) a kyoto::stream, i.e. a
// stream_core (kyoto/stream/detail/stream_core.hpp). A next() makes passes
// over the entries starting at a rotating index (fairness): each entry's
// core gets one step() with the waiting coroutine as its consumer. The
// first entry that is ready (an item, its end, or its exception) ends the
// pass; the entries already stepped are detached again (their producers
// stay where they were: the same protocol as a cancelled next()). If every
// entry suspended, the waiting coroutine suspends with all of them
// attached; the first pump to find its entry ready transfers to it, and it
// detaches all the others before anything else runs. An entry that ended
// is dropped and the wait goes on; an exception is rethrown (the entry is
// dropped first).
#pragma once

#include <kyoto/runtime/task.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/stream/async_stream.hpp>

#include <kyoto/stream/detail/stream_core.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace kyoto {

namespace detail {

/// A stream<T> forwarding the items of any async_stream.
template <async_stream S>
stream<stream_item_t<S>> as_stream(S s) {
  for (;;) {
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    co_yield std::move(*v);
  }
}

/// One pass of stream_map::next(); see the file comment. `cores` must not
/// change while it exists.
class wait_any_awaiter {
 public:
  wait_any_awaiter(stream_core_base* const* cores, std::size_t n, std::size_t start) noexcept
      : cores_(cores), n_(n), start_(start) {}
  wait_any_awaiter(const wait_any_awaiter&) = delete;
  wait_any_awaiter& operator=(const wait_any_awaiter&) = delete;
  /// Cancelled while waiting: unlinks from every entry.
  ~wait_any_awaiter() {
    if (suspended_) detach_all(n_);
  }

  bool await_ready() const noexcept { return n_ == 0; }
  bool await_suspend(std::coroutine_handle<> h) {
    for (std::size_t k = 0; k < n_; ++k) {
      const std::size_t i = (start_ + k) % n_;
      stream_core_base* c = cores_[i];
      c->consumer_ = h;
      stream_core_base::step_result r{};
      try {
        r = c->step();
      } catch (...) {
        detach_all(n_);
        throw;
      }
      if (r == stream_core_base::step_result::ready) {
        ready_ = i;
        detach_all(n_);
        return false;
      }
    }
    suspended_ = true;
    return true;
  }
  /// The index of the entry that is ready (the others are detached).
  std::size_t await_resume() noexcept {
    if (suspended_) {
      suspended_ = false;
      for (std::size_t i = 0; i < n_; ++i) {
        if (!cores_[i]->linked()) ready_ = i;
      }
      detach_all(n_);
    }
    return ready_;
  }

 private:
  void detach_all(std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      if (cores_[i]->linked()) cores_[i]->detach();
    }
  }
  stream_core_base* const* cores_;
  std::size_t n_;
  std::size_t start_;
  std::size_t ready_ = 0;
  bool suspended_ = false;
};

}  // namespace detail

/// Streams keyed by `K`, read as one stream of `(key, item)` pairs
/// (tokio's StreamMap): fair between the streams that have items; a stream
/// that ends is removed. `S` is any async_stream (wrapped into a
/// kyoto::stream unless it is one).
///
/// Thread safety: one task at a time. insert() and remove() only between
/// next() calls. Cancel safety: next() is cancel safe (every entry's
/// producer stays where it was; nothing is taken).
template <class K, async_stream S>
class stream_map {
 public:
  /// The type of the items of each stream (the second of each pair).
  using item_type = stream_item_t<S>;
  /// How each stream is held: `S` wrapped into a kyoto::stream.
  using stream_type = stream<item_type>;

  /// An empty map.
  stream_map() = default;
  /// Takes over `other`'s streams; `other` is left empty.
  stream_map(stream_map&&) noexcept = default;
  /// Destroys this map's streams, then takes over `other`'s; `other` is
  /// left empty.
  stream_map& operator=(stream_map&&) noexcept = default;

  /// Adds `s` under `key`, replacing (and destroying) a stream with the
  /// same key; whether one was replaced.
  bool insert(K key, S s) {
    if constexpr (std::is_same_v<S, stream_type>) {
      return insert_stream(std::move(key), std::move(s));
    } else {
      return insert_stream(std::move(key), detail::as_stream(std::move(s)));
    }
  }

  /// Adds a stream given back by remove() (when `S` is not a kyoto::stream).
  bool insert(K key, stream_type s)
    requires(!std::is_same_v<S, stream_type>)
  {
    return insert_stream(std::move(key), std::move(s));
  }

  /// Removes the stream under `key` and gives it back (a kyoto::stream:
  /// `S` wrapped, unless it is one), or nullopt if there is none.
  std::optional<stream_type> remove(const K& key) {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] == key) {
        std::optional<stream_type> out(std::move(streams_[i]));
        erase(i);
        return out;
      }
    }
    return std::nullopt;
  }

  /// Whether a stream is under `key`.
  bool contains_key(const K& key) const {
    for (const K& k : keys_)
      if (k == key) return true;
    return false;
  }
  /// The number of streams.
  std::size_t size() const noexcept { return keys_.size(); }
  /// Whether there is none.
  bool empty() const noexcept { return keys_.empty(); }
  /// The keys, in insertion order (as changed by removals).
  const std::vector<K>& keys() const noexcept { return keys_; }

  /// `co_await m.next()`: the next `(key, item)` of any stream, or nullopt
  /// once the map is empty. A stream's exception is rethrown (that stream
  /// is removed first). The map must outlive the task.
  task<std::optional<std::pair<K, item_type>>> next() {
    for (;;) {
      if (keys_.empty()) co_return std::nullopt;
      const std::size_t start = next_start_++ % keys_.size();
      std::size_t i = co_await detail::wait_any_awaiter(cores_.data(), cores_.size(), start);
      std::optional<item_type> v;
      try {
        v = static_cast<detail::stream_core<item_type>*>(cores_[i])->take();
      } catch (...) {
        erase(i);
        throw;
      }
      if (v)
        co_return std::optional<std::pair<K, item_type>>(std::in_place, keys_[i], std::move(*v));
      erase(i);  // it ended
    }
  }

 private:
  bool insert_stream(K key, stream_type s) {
    const bool had = remove(key).has_value();
    keys_.push_back(std::move(key));
    streams_.push_back(std::move(s));
    cores_.push_back(detail::stream_access::core(streams_.back()));
    return had;
  }

  void erase(std::size_t i) {
    keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i));
    streams_.erase(streams_.begin() + static_cast<std::ptrdiff_t>(i));
    cores_.erase(cores_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  std::vector<K> keys_;
  std::vector<stream_type> streams_;
  std::vector<detail::stream_core_base*> cores_;  ///< streams_' cores, for the wait
  std::size_t next_start_ = 0;
};

}  // namespace kyoto
