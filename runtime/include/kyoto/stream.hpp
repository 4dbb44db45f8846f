// kyoto::stream<T>: an async generator (tokio-stream's Stream, written as
// async_stream::stream! would be): a coroutine that `co_yield`s items.
//
// # Contract
//
// - Lazy: calling a stream-returning function allocates its frame and runs
//   nothing; the body runs only inside `co_await s.next()`.
// - `co_yield v;` produces an item, `co_return;` (or falling off the end)
//   ends the stream. The body may `co_await` anything a task may: channels,
//   sleeps, sockets, tasks, other streams.
// - `co_await s.next()` gives `std::optional<T>`: the next item, or nullopt
//   at the end. An exception thrown by the body is rethrown by the next()
//   that was running it; after the end, or after that exception, next()
//   keeps giving nullopt.
// - The body runs inline on the consumer's task (no spawn), on its thread,
//   inside the consumer's next() calls: between them it is not run. Frames
//   come from the runtime's frame pool. A body that yields without
//   suspending completes next() without suspending the consumer, so a loop
//   over a million items runs in constant stack even at -O0.
// - Cancel safe: a next() destroyed while waiting (it lost a select, a
//   time::timeout elapsed, its task was aborted) leaves the body suspended
//   where it was; whatever it was waiting for later becomes the next item.
//   Nothing is lost, and nothing of the consumer is resumed by that later
//   wake. The protocol is in kyoto/stream/detail/stream_core.hpp.
// - Move-only; destroying the stream destroys the body's frames (their
//   destructors run, the operation it awaited is cancelled as by abort).
//   Only one next() may be in progress at a time, and the stream must
//   outlive it.
#pragma once

#include <kyoto/stream/async_stream.hpp>

#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/stream/detail/stream_core.hpp>

#include <cassert>
#include <concepts>
#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kyoto {

template <class T>
class stream;

namespace detail {

/// Lets stream_map reach a stream's core.
struct stream_access {
  template <class T>
  static stream_core<T>* core(stream<T>& s) noexcept {
    return s.core_;
  }
};

[[noreturn]] inline void throw_stream_misuse() {
  throw std::logic_error("kyoto::stream: next() on an empty or moved-from stream");
}

/// The promise of a stream's body.
template <class T>
class stream_promise : public pooled_frame {
 public:
  /// Suspends the body at a co_yield; see stream_core_base::park_yield().
  struct yield_awaiter {
    stream_core<T>* core;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { core->park_yield(h); }
    void await_resume() const noexcept {}
  };

  stream<T> get_return_object();
  std::suspend_always initial_suspend() const noexcept { return {}; }
  /// The cell destroys the frame once it sees it done.
  std::suspend_always final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}
  void unhandled_exception() noexcept { core_->set_exception(std::current_exception()); }

  template <class U = T>
    requires std::constructible_from<T, U&&>
  yield_awaiter yield_value(U&& value) {
    // NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): core_ is set before the body runs
    core_->item_.emplace(std::forward<U>(value));
    return yield_awaiter{core_};
  }

  /// Await inside a stream's body as inside a task; co_await of a stream's
  /// own next() is fine (a nested stream is a nested cell).
  stream_core<T>* core_ = nullptr;
};

}  // namespace detail

/// An async generator of `T`s; see the file comment.
///
/// Thread safety: one task uses a stream at a time (it may move between
/// tasks between next() calls). The body runs on the thread of the task
/// that calls next(). Cancel safety: next() is cancel safe.
template <class T>
class [[nodiscard]] stream {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "kyoto::stream<T>: T must be an object type");

 public:
  /// The coroutine promise (library-internal; C++ finds it here).
  using promise_type = detail::stream_promise<T>;
  /// The type of the items the stream yields.
  using value_type = T;

  /// Awaits the next item; see next().
  class [[nodiscard]] next_awaiter {
   public:
    /// Made by next(); not constructed by users.
    explicit next_awaiter(detail::stream_core<T>* core) noexcept : core_(core) {}
    /// Movable until awaited (select and timeout hold it by value).
    next_awaiter(next_awaiter&& o) noexcept : core_(o.core_) {
      assert(!o.suspended_ && "a next() awaiter moved while awaited");
    }
    next_awaiter(const next_awaiter&) = delete;
    next_awaiter& operator=(const next_awaiter&) = delete;
    /// Destroyed while suspended (cancelled): leaves the body where it is.
    ~next_awaiter() {
      if (suspended_) core_->detach();
    }

    /// Always false: the body is stepped in await_suspend().
    bool await_ready() const noexcept { return false; }
    /// Runs the body until it yields, returns or suspends; resumes the
    /// consumer at once (returns false) if an item or the end is ready.
    bool await_suspend(std::coroutine_handle<> consumer) {
      core_->consumer_ = consumer;
      if (core_->step() == detail::stream_core_base::step_result::ready) return false;
      suspended_ = true;
      return true;
    }
    /// The next item, or nullopt once the body has returned. Rethrows an
    /// exception the body ended with.
    std::optional<T> await_resume() {
      suspended_ = false;
      return core_->take();
    }

   private:
    detail::stream_core<T>* core_;
    bool suspended_ = false;
  };

  /// An empty stream; next() on it throws std::logic_error.
  stream() noexcept = default;
  /// Takes over `o`'s body; `o` is left empty (valid() is false).
  stream(stream&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  /// Destroys this stream's body if it has not finished, then takes over
  /// `o`'s; `o` is left empty.
  stream& operator=(stream&& o) noexcept {
    if (this != &o) {
      delete core_;
      core_ = std::exchange(o.core_, nullptr);
    }
    return *this;
  }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  /// Destroys the body's frames if it has not finished (cancellation).
  ~stream() { delete core_; }

  /// Whether this stream owns a body (false after a move).
  bool valid() const noexcept { return core_ != nullptr; }

  /// `co_await s.next()`: the next item, or nullopt at the end; rethrows
  /// the body's exception once. Resumed on the awaiting task's thread.
  /// Cancel safe. Throws std::logic_error on an empty stream.
  next_awaiter next() {
    if (core_ == nullptr) detail::throw_stream_misuse();
    return next_awaiter(core_);
  }

 private:
  friend class detail::stream_promise<T>;
  friend struct detail::stream_access;
  explicit stream(detail::stream_core<T>* core) noexcept : core_(core) {}

  detail::stream_core<T>* core_ = nullptr;
};

template <class T>
stream<T> detail::stream_promise<T>::get_return_object() {
  core_ = new stream_core<T>(std::coroutine_handle<stream_promise>::from_promise(*this));
  return stream<T>(core_);
}

}  // namespace kyoto
