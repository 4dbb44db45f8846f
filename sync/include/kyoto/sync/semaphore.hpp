// kyoto::sync::semaphore: a fair counting semaphore (tokio::sync::Semaphore).
//
// The algorithm (FIFO assignment of permits, the lock-free fast path, how
// cancellation passes permits on) is in detail/batch_semaphore.hpp.
#pragma once

#include <kyoto/runtime/result.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/sync/detail/batch_semaphore.hpp>
#include <kyoto/sync/detail/held_permits.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace kyoto::sync {

/// The error of acquire(): the semaphore was closed (tokio's AcquireError).
struct acquire_error {
  /// A description: "semaphore closed".
  const char* what() const noexcept { return "semaphore closed"; }
  friend bool operator==(const acquire_error&, const acquire_error&) = default;
};

/// The error of try_acquire() (tokio's TryAcquireError).
class try_acquire_error {
 public:
  /// Why try_acquire() failed: closed, or not enough free permits.
  enum class kind : unsigned char { closed, no_permits };

  /// An error of kind `k`.
  explicit try_acquire_error(kind k) noexcept : kind_(k) {}
  /// The semaphore was closed.
  bool is_closed() const noexcept { return kind_ == kind::closed; }
  /// Not enough permits are free right now.
  bool is_no_permits() const noexcept { return kind_ == kind::no_permits; }
  /// A description: "semaphore closed" or "no permits available".
  const char* what() const noexcept {
    return kind_ == kind::closed ? "semaphore closed" : "no permits available";
  }
  friend bool operator==(const try_acquire_error&, const try_acquire_error&) = default;

 private:
  kind kind_;
};

class semaphore;

/// Permits taken from a semaphore, given back when it is destroyed (RAII).
/// `Ref` is `semaphore*` (semaphore_permit: the semaphore must outlive it)
/// or `std::shared_ptr<semaphore>` (owned_semaphore_permit: keeps it
/// alive, for a permit moved into a spawned task).
///
/// Move-only. Thread safety: one thread at a time; it may be moved to and
/// destroyed on any thread.
template <class Ref>
class basic_semaphore_permit {
 public:
  /// An empty permit (holds nothing).
  basic_semaphore_permit() noexcept = default;
  /// Holds `permits` permits already taken from `*sem`.
  basic_semaphore_permit(Ref sem, std::size_t permits) noexcept;

  /// Keeps the permits taken for good: the semaphore has that many fewer
  /// (tokio's forget). The permit becomes empty.
  void forget() noexcept { held_.forget(); }

  /// How many permits this holds.
  std::size_t num_permits() const noexcept { return held_.count(); }

  /// Whether this holds a semaphore (false once moved from or forgotten).
  explicit operator bool() const noexcept { return held_.engaged(); }

  /// The semaphore the permits belong to, or null.
  semaphore* get_semaphore() const noexcept {
    return held_.engaged() ? kyoto::detail::get_semaphore(held_.owner()) : nullptr;
  }

  /// Takes `other`'s permits into this one (tokio's merge). Throws
  /// std::logic_error if they belong to different semaphores (an empty
  /// `other` merges nothing; an empty `*this` adopts `other`).
  void merge(basic_semaphore_permit&& other) {
    if (!other) return;
    if (!*this) {
      *this = std::move(other);
      return;
    }
    if (get_semaphore() != other.get_semaphore()) {
      kyoto::detail::throw_merge_mismatch("kyoto::sync::semaphore_permit::merge");
    }
    held_.absorb(std::move(other.held_));
  }

 private:
  /// Move-only; releases on destruction.
  kyoto::detail::held_permits<Ref> held_;
};

/// Permits borrowed from a semaphore that outlives them.
using semaphore_permit = basic_semaphore_permit<semaphore*>;
/// Permits that keep their semaphore alive (tokio's OwnedSemaphorePermit).
using owned_semaphore_permit = basic_semaphore_permit<std::shared_ptr<semaphore>>;

/// Awaiter of semaphore::acquire*(); gives
/// `result<basic_semaphore_permit<Ref>, acquire_error>`.
///
/// Waiters are served in order (FIFO), a big request included. Resumed on
/// the awaiting task's thread. Cancel safety: cancel safe, but a cancelled
/// acquire loses its place in the queue; permits it had been assigned pass
/// on to the next waiter.
template <class Ref>
class [[nodiscard]] basic_acquire_awaiter {
 public:
  /// Made by semaphore::acquire*(); not constructed by users.
  basic_acquire_awaiter(Ref sem, kyoto::detail::batch_semaphore* impl, std::size_t n) noexcept
      : sem_(std::move(sem)), op_(impl, n), n_(n) {}

  /// await_ready() returns false holding the lock; await_suspend() releases it — see the
  /// awaitable contract in runtime/detail/awaitable.hpp.
  bool await_ready() { return op_.await_ready(); }
  /// Queues the awaiting coroutine `h` and releases the lock await_ready()
  /// kept; out of budget (no lock kept), yields it instead.
  void await_suspend(std::coroutine_handle<> h) { op_.await_suspend(h); }
  /// The permits, or acquire_error if the semaphore was closed.
  result<basic_semaphore_permit<Ref>, acquire_error> await_resume() {
    if (!op_.resume()) return unexpected(acquire_error{});
    return basic_semaphore_permit<Ref>(std::move(sem_), n_);
  }

  /// For task dumps: the permits waited for.
  void describe(kyoto::detail::wait_description& d) const noexcept {
    d.what = "semaphore acquire";
    d.detail = kyoto::detail::wait_detail::count;
    d.value = static_cast<std::int64_t>(n_);
  }

 private:
  Ref sem_;
  kyoto::detail::acquire_op op_;
  std::size_t n_;
};

/// Awaiter of acquire() and acquire_many(); gives a semaphore_permit.
using acquire_awaiter = basic_acquire_awaiter<semaphore*>;
/// Awaiter of acquire_owned() and acquire_many_owned(); gives an
/// owned_semaphore_permit.
using owned_acquire_awaiter = basic_acquire_awaiter<std::shared_ptr<semaphore>>;

/// A counting semaphore for tasks (tokio::sync::Semaphore): limits how many
/// tasks do something at once. Fair: acquirers are served in the order
/// they queued, so a large acquire_many is not starved by small ones.
///
/// Neither copyable nor movable (waiters point into it). Thread safety:
/// every member may be called from any thread concurrently.
///
/// ```
/// kyoto::sync::semaphore sem(3);
/// auto permit = (co_await sem.acquire()).value();  // at most 3 holders
/// ```
class KYOTO_EXPORT semaphore {
 public:
  /// The most permits a semaphore may hold (tokio: usize::MAX >> 3).
  static constexpr std::size_t max_permits = kyoto::detail::batch_semaphore::max_permits;

  /// A semaphore with `permits` free permits. Throws std::invalid_argument
  /// if `permits` > max_permits.
  explicit semaphore(std::size_t permits) : impl_(checked(permits)) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// The free permits now (a snapshot).
  std::size_t available_permits() const noexcept { return impl_.available(); }

  /// Adds `n` permits, handing them to waiters first. Throws
  /// std::overflow_error if the free permits would exceed max_permits.
  void add_permits(std::size_t n) { impl_.add_permits(n, "kyoto::sync::semaphore::add_permits"); }

  /// Closes the semaphore: every waiting and later acquire fails with
  /// acquire_error; permits already held stay valid and can be returned.
  void close() noexcept { impl_.close(); }

  /// Whether close() was called.
  bool is_closed() const noexcept { return impl_.is_closed(); }

  /// `co_await sem.acquire()` waits for one permit; gives
  /// `result<semaphore_permit, acquire_error>` (an error once closed).
  /// Cancel safe (see basic_acquire_awaiter). The awaiter must not outlive
  /// the semaphore.
  acquire_awaiter acquire() noexcept { return acquire_many(1); }

  /// As acquire(), for `n` permits at once (all or nothing to the caller;
  /// meanwhile the queue keeps its order). `n` == 0 succeeds at once.
  acquire_awaiter acquire_many(std::uint32_t n) noexcept {
    return acquire_awaiter(this, &impl_, n);
  }

  /// One permit if one is free now (never waits): no_permits or closed
  /// otherwise.
  result<semaphore_permit, try_acquire_error> try_acquire() noexcept { return try_acquire_many(1); }

  /// As try_acquire(), for `n` permits.
  result<semaphore_permit, try_acquire_error> try_acquire_many(std::uint32_t n) noexcept {
    return try_take<semaphore*>(this, n);
  }

  /// As acquire(), but the permit holds `sem` (tokio's acquire_owned on an
  /// Arc<Semaphore>): for a permit that moves into a spawned task. Throws
  /// std::invalid_argument if `sem` is null.
  static owned_acquire_awaiter acquire_owned(std::shared_ptr<semaphore> sem) {
    return acquire_many_owned(std::move(sem), 1);
  }

  /// As acquire_owned(), for `n` permits.
  static owned_acquire_awaiter acquire_many_owned(std::shared_ptr<semaphore> sem, std::uint32_t n) {
    kyoto::detail::batch_semaphore* impl = &non_null(sem, "acquire_many_owned")->impl_;
    return owned_acquire_awaiter(std::move(sem), impl, n);
  }

  /// As try_acquire(), with an owned permit.
  static result<owned_semaphore_permit, try_acquire_error> try_acquire_owned(
      std::shared_ptr<semaphore> sem) {
    return try_acquire_many_owned(std::move(sem), 1);
  }

  /// As try_acquire_many(), with an owned permit.
  static result<owned_semaphore_permit, try_acquire_error> try_acquire_many_owned(
      std::shared_ptr<semaphore> sem, std::uint32_t n) {
    non_null(sem, "try_acquire_many_owned");
    return try_take<std::shared_ptr<semaphore>>(std::move(sem), n);
  }

 private:
  template <class Ref>
  friend class basic_semaphore_permit;

  static std::size_t checked(std::size_t permits) {
    if (permits > max_permits)
      kyoto::detail::throw_too_many_permits("kyoto::sync::semaphore", permits);
    return permits;
  }

  static semaphore* non_null(const std::shared_ptr<semaphore>& sem, const char* op);

  template <class Ref>
  static result<basic_semaphore_permit<Ref>, try_acquire_error> try_take(Ref sem,
                                                                         std::uint32_t n) noexcept {
    using status = kyoto::detail::batch_semaphore::status;
    switch (kyoto::detail::get_semaphore(sem)->impl_.try_acquire(n)) {
      case status::acquired:
        return basic_semaphore_permit<Ref>(std::move(sem), n);
      case status::closed:
        return unexpected(try_acquire_error(try_acquire_error::kind::closed));
      case status::no_permits:
        break;
    }
    return unexpected(try_acquire_error(try_acquire_error::kind::no_permits));
  }

  kyoto::detail::batch_semaphore impl_;
};

template <class Ref>
basic_semaphore_permit<Ref>::basic_semaphore_permit(Ref sem, std::size_t permits) noexcept {
  kyoto::detail::batch_semaphore* impl = &kyoto::detail::get_semaphore(sem)->impl_;
  held_ = kyoto::detail::held_permits<Ref>(std::move(sem), impl, permits);
}

}  // namespace kyoto::sync
