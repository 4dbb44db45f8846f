// The readiness backend: kyoto's I/O requests served by epoll and a pool
// of file threads, where io_uring is refused (Docker's default seccomp
// profile, gVisor, kernel.io_uring_disabled) or KYOTO_IO_BACKEND=epoll
// asks for it. It stands behind the reactor (reactor.hpp) the way
// Seastar's reactor backends stand behind one interface: the same op_args
// come in, the same completions (an op and its result, as a CQE would
// carry) come out, and the reactor's bookkeeping, cancel protocol and
// foreign reaping are unchanged.
//
// # How a request is served
//
//   start(op, args)
//     ├─ sockets, pipes, terminals: the system call at once, non-blocking
//     │  (MSG_DONTWAIT, RWF_NOWAIT, an O_NONBLOCK listener or connecting
//     │  socket). A result completes the op; EAGAIN parks it on its
//     │  descriptor, registered in epoll. Each readiness event retries the
//     │  requests parked on that descriptor it may unblock; what still
//     │  gets EAGAIN is parked again.
//     ├─ files and paths (openat, statx, fsync, a read of a regular file
//     │  not in the page cache, ...): a blocking call on the file pool.
//     │  epoll refuses regular files (EPERM), which is how a read or
//     │  write finds out it has to go there.
//     └─ shutdown, close: at once.
//
// # Registrations: kept for a socket, one-shot for the rest
//
// A socket (a descriptor that saw a recv, send, recvmsg, sendmsg, accept
// or connect) is registered once, edge-triggered, for both directions,
// and the registration is kept while nobody waits: a wait then costs no
// epoll_ctl, as in tokio and mio. Only kyoto closes its sockets, through
// sys_close(), which bumps the number's epoch (fd_epoch.hpp); the
// registration records the epoch, and a park finding it changed registers
// afresh. Each reactor has its own epoll, so a socket whose task moved to
// another worker stays registered here until `idle_events_kept` events in
// a row found no waiter; then it is deleted, and the next wait adds it.
// Every other descriptor (pipes, pidfds, terminals: closed by code that
// does not count closes) is armed one-shot (EPOLLONESHOT) for each wait:
// MOD, or ADD if the number is not registered, so a record is never
// trusted.
//
// Completions are queued (`done_`) and handed to the reactor by take(),
// never dispatched from start(): an op completes after its task suspended,
// as with io_uring.
//
// # Cancellation
//
// A parked request is cancelled at once (it completes with -ECANCELED, or
// with the bytes a MSG_WAITALL request had moved). A request on the file
// pool cannot be: it completes when its call returns, as an io_uring file
// request the kernel answers with -EALREADY.
//
// # Threads
//
// Everything here but the file pool's side of `sink` is touched under the
// reactor's reap lock (the owner's thread, or a foreign reaper). A pool
// thread only appends to the sink under its mutex and writes the driver's
// wake-up eventfd, so a parked owner wakes; once close() marked the sink
// closed it touches neither (the eventfd may be gone).
#pragma once

#include <kyoto/runtime/io_backend.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/runtime/detail/config.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace kyoto::detail {

/// One finished request: what a CQE carries (its user_data is the op).
struct completion {
  std::uint64_t data;
  int res;
  std::uint32_t flags;
};

/// Which I/O backend a reactor runs on (KYOTO_IO_BACKEND).
enum class io_backend_kind : std::uint8_t { io_uring, epoll };

class readiness {
 public:
  /// Creates the epoll instance and watches `wake_fd` (the driver's
  /// eventfd) in it. Throws std::system_error.
  explicit readiness(int wake_fd);
  ~readiness();
  readiness(const readiness&) = delete;
  readiness& operator=(const readiness&) = delete;

  /// Serves `op`'s request (see the file comment); its completion is
  /// queued for take(). Throws std::bad_alloc only.
  void start(io_op* op, const op_args& a);
  /// Cancels `op` if it is parked; nothing if it is on the file pool or
  /// already completed.
  void cancel(io_op* op);
  /// Moves up to `max` completions into `out`: first what readiness events
  /// (polled without blocking) and the file pool have finished. Returns
  /// how many.
  unsigned take(completion* out, unsigned max);
  /// Blocks until a descriptor is ready, the wake-up eventfd is written,
  /// a file request ends or `timeout` passes; then queues what that
  /// finished. Returns at once if completions are queued already.
  void wait(std::optional<std::chrono::nanoseconds> timeout);
  /// Stops: the file pool's requests still running complete nowhere (the
  /// driver keeps their tasks, driver::held()). Idempotent.
  void close() noexcept;

 private:
  /// A request parked on its descriptor.
  struct parked {
    io_op* op = nullptr;
    op_args a;                    ///< the request, as the ring would get it
    std::uint32_t moved = 0;      ///< bytes a MSG_WAITALL request has moved
    bool connecting = false;      ///< a connect() in progress: wait, then SO_ERROR
    bool nowait_refused = false;  ///< RWF_NOWAIT unsupported: poll, then call
  };
  /// The requests parked on one descriptor and what epoll watches for it.
  struct watched {
    std::vector<parked*> waiters;
    /// Events registered: for a one-shot registration, 0 once an event
    /// fired; for a kept one, all it was ever registered for.
    std::uint32_t armed = 0;
    /// A socket's: registered edge-triggered and kept while no waiter
    /// waits (see the file comment).
    bool lasting = false;
    /// Kept, and it reported the peer's shutdown (RDHUP or HUP): sticky,
    /// since no edge reports it again.
    bool shut = false;
    /// Kept: events in a row with no waiter (see gather()).
    std::uint8_t idle_events = 0;
    /// Kept: the descriptor's epoch when registered (fd_epoch.hpp).
    std::uint32_t epoch = 0;
  };
  /// What try_request() decided.
  enum class outcome : std::uint8_t { done, park, pool };

  /// Makes `p`'s call. `shut` (the readiness event said EPOLLRDHUP or
  /// EPOLLHUP): a read that still gets EAGAIN ends with what it has (0) —
  /// a datagram socket shut down for reading answers a non-blocking read
  /// with EAGAIN forever, where a blocking one (and io_uring) gives 0.
  outcome try_request(parked& p, int& result, bool shut = false);
  /// Parks `p` on its descriptor, arming epoll (outcome::park). pool: epoll
  /// refuses the descriptor (a regular file: EPERM). done: a read on a
  /// kept registration that already reported the peer's shutdown ended
  /// (`result` says how).
  outcome park(parked& p, int& result);
  bool arm(int fd, watched& w);
  void finish(io_op* op, int result);
  void to_pool(const parked& p);
  /// Handles the events of one epoll_wait (timeout_ns < 0: none). Only a
  /// blocking wait (the owner's, about to sleep) consumes the wake-up
  /// eventfd: one consumed by take() — maybe a foreign reaper's — would
  /// be a wake-up the owner never sees before it parks; left set (epoll
  /// watches it level-triggered) it makes the next wait return at once.
  void gather(long long timeout_ns, bool consume_wake);
  void drain_sink();

  int epfd_ = -1;
  int wake_fd_;
  bool pwait2_ = true;  ///< epoll_pwait2 exists (Linux 5.11)
  std::deque<completion> done_;
  std::unordered_map<io_op*, parked> parked_;
  std::unordered_map<int, watched> watched_;

 public:
  /// Where the file pool's threads hand completions back (shared: it
  /// outlives the readiness object while a pool call runs).
  struct sink {
    std::mutex lock;
    std::vector<completion> done;  ///< guarded by lock
    int wake_fd = -1;
    bool closed = false;  ///< guarded by lock
    /// Whether `done` may hold something: set (release) under the lock by a
    /// pool thread, read (acquire) by take() to skip the lock when empty.
    atomic<bool> any{false};
  };

 private:
  std::shared_ptr<sink> sink_;
};

/// The backend the next reactor runs on: `requested` (the builder's
/// choice) unless automatic, then KYOTO_IO_BACKEND=io_uring or epoll;
/// unset or auto: io_uring unless the process may not create a ring
/// (EPERM, EACCES, ENOSYS), then epoll, said once through the logger.
/// Throws std::invalid_argument for another value of the variable, and,
/// with io_uring forced and refused, the std::system_error of
/// uring_support.hpp.
io_backend_kind choose_io_backend(kyoto::io_backend requested);

}  // namespace kyoto::detail
