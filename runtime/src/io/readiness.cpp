#include "io/readiness.hpp"

#include "io/fd_epoch.hpp"

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <system_error>
#include <thread>
#include <utility>

namespace kyoto::detail {

namespace {

/// epoll_event.data of the wake-up eventfd (descriptors are ints >= 0).
constexpr std::uint64_t wake_key = ~std::uint64_t{0};
/// What a parked reader, writer, or poll request is woken by.
constexpr std::uint32_t read_events =
    EPOLLIN | EPOLLRDHUP;  // not PRI: urgent data would fire forever
constexpr std::uint32_t write_events = EPOLLOUT;
/// Events a kept registration reports with no waiter to retry before it is
/// dropped (the socket is served by another reactor now, or idle).
constexpr std::uint8_t idle_events_kept = 2;

/// Whether `opcode` is a socket's own request: its descriptor is a socket,
/// closed through sys_close(), so it may keep its registration.
bool socket_request(std::uint8_t opcode) noexcept {
  return opcode == opcode::recv || opcode == opcode::send || opcode == opcode::recvmsg ||
         opcode == opcode::sendmsg || opcode == opcode::accept || opcode == opcode::connect;
}

/// The events that may let `p` make progress.
std::uint32_t interest(const op_args& a) noexcept {
  if (a.opcode == opcode::poll_add)
    return a.op_flags & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
  if (a.opcode == opcode::recv || a.opcode == opcode::recvmsg || a.opcode == opcode::accept ||
      a.opcode == opcode::read)
    return read_events;
  return write_events;
}

/// epoll_event.data of a registration: the descriptor, and for a kept one
/// its epoch (fd_epoch.hpp), which tells a stale registration's events
/// from the current one's.
std::uint64_t key_of(int fd, std::uint32_t epoch) noexcept {
  return static_cast<std::uint32_t>(fd) | (std::uint64_t{epoch} << 32);
}

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

void* ptr(std::uint64_t v) noexcept {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): op_args carries addresses as the kernel's u64
  return reinterpret_cast<void*>(v);
}
const char* path(std::uint64_t v) noexcept {
  return static_cast<const char*>(ptr(v));
}

/// The result of a system call as a CQE gives it: >= 0, or -errno.
int result_of(long r) noexcept {
  return r < 0 ? -errno : static_cast<int>(r);
}

/// Sets O_NONBLOCK on `fd` (a listener or a connecting socket: accept and
/// connect have no per-call flag); -errno or 0.
int make_nonblocking(int fd) noexcept {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return -errno;
  if ((fl & O_NONBLOCK) != 0) return 0;
  return ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/// The blocking call behind a file request (the pool's threads).
int call_blocking(const op_args& a) noexcept {
  const bool at_cursor = a.off == ~std::uint64_t{0};
  const auto off = static_cast<off_t>(a.off);
  for (;;) {
    long r;
    switch (a.opcode) {
      // The analyzer loses the unlock of file_pool::next()'s unique_lock
      // and thinks the pool's lock is held here; it is not.
      case opcode::read:
        // NOLINTNEXTLINE(clang-analyzer-unix.BlockInCriticalSection)
        r = at_cursor ? ::read(a.fd, ptr(a.addr), a.len) : ::pread(a.fd, ptr(a.addr), a.len, off);
        break;
      case opcode::write:
        // NOLINTNEXTLINE(clang-analyzer-unix.BlockInCriticalSection)
        r = at_cursor ? ::write(a.fd, ptr(a.addr), a.len) : ::pwrite(a.fd, ptr(a.addr), a.len, off);
        break;
      case opcode::openat:
        r = ::openat(a.fd, path(a.addr), static_cast<int>(a.op_flags), static_cast<mode_t>(a.len));
        break;
      case opcode::statx:
        r = ::statx(a.fd, path(a.addr), static_cast<int>(a.op_flags), a.len,
                    static_cast<struct statx*>(ptr(a.off)));
        break;
      case opcode::fsync:
        r = (a.op_flags & fsync_datasync) != 0 ? ::fdatasync(a.fd) : ::fsync(a.fd);
        break;
      case opcode::unlinkat:
        r = ::unlinkat(a.fd, path(a.addr), static_cast<int>(a.op_flags));
        break;
      case opcode::renameat:
        r = ::renameat2(a.fd, path(a.addr), static_cast<int>(a.len), path(a.off), a.op_flags);
        break;
      case opcode::mkdirat:
        r = ::mkdirat(a.fd, path(a.addr), static_cast<mode_t>(a.len));
        break;
      case opcode::symlinkat:
        r = ::symlinkat(path(a.addr), a.fd, path(a.off));
        break;
      case opcode::linkat:
        r = ::linkat(a.fd, path(a.addr), static_cast<int>(a.len), path(a.off),
                     static_cast<int>(a.op_flags));
        break;
      case opcode::ftruncate:
        r = ::ftruncate(a.fd, off);
        break;
      default:
        return -EINVAL;
    }
    if (r < 0 && errno == EINTR) continue;
    return result_of(r);
  }
}

/// The file pool: threads that make blocking file calls (tokio's
/// spawn_blocking for its fs module). Grows to `max_threads` while every
/// thread is busy; its threads live as long as the process (they are
/// detached: a call may block for good, as an open of a FIFO without a
/// writer, and must not hang the exit). A forked child gets a new pool.
class file_pool {
 public:
  static constexpr unsigned max_threads = 64;

  struct job {
    op_args call;
    io_op* op;
    std::shared_ptr<readiness::sink> to;
  };

  static file_pool& get() {
    static std::mutex made;
    static file_pool* pool = nullptr;
    const std::lock_guard<std::mutex> guard(made);
    if (pool == nullptr || pool->pid_ != ::getpid()) {
      pool =
          new file_pool();  // NOLINT(cppcoreguidelines-owning-memory): lives as long as the process
    }
    return *pool;
  }

  void run(job j) {
    std::unique_lock<std::mutex> guard(lock_);
    jobs_.push_back(std::move(j));
    if (idle_ == 0 && threads_ < max_threads) {
      ++threads_;
      std::thread([this] { serve(); }).detach();
    } else {
      ready_.notify_one();
    }
  }

 private:
  void serve() {
    for (;;) {
      job j = next();
      const int res = call_blocking(j.call);
      const std::lock_guard<std::mutex> to(j.to->lock);
      if (!j.to->closed) {
        j.to->done.push_back(completion{reinterpret_cast<std::uint64_t>(j.op), res, 0});
        // Release: pairs with take()'s acquire load (the entry is there).
        j.to->any.store(true, std::memory_order_release);
        const std::uint64_t one = 1;
        // Under the sink's lock: close() takes it before the eventfd may go.
        // An eventfd write does not block (its counter cannot near 2^64).
        // NOLINTNEXTLINE(clang-analyzer-unix.BlockInCriticalSection)
        (void)!::write(j.to->wake_fd, &one, sizeof one);
      }
    }
  }

  /// Waits for a job and takes it.
  job next() {
    std::unique_lock<std::mutex> guard(lock_);
    ++idle_;
    ready_.wait(guard, [this] { return !jobs_.empty(); });
    --idle_;
    job j = std::move(jobs_.front());
    jobs_.pop_front();
    return j;
  }

  const pid_t pid_ = ::getpid();
  std::mutex lock_;
  std::condition_variable ready_;
  std::deque<job> jobs_;  ///< guarded by lock_
  unsigned threads_ = 0;  ///< guarded by lock_
  unsigned idle_ = 0;     ///< guarded by lock_
};

}  // namespace

readiness::readiness(int wake_fd) : wake_fd_(wake_fd) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw_errno(errno, "kyoto: creating the epoll instance (epoll_create1)");
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: read until the eventfd is zero
  ev.data.u64 = wake_key;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    const int err = errno;
    ::close(epfd_);
    throw_errno(err, "kyoto: watching the wake-up eventfd (epoll_ctl)");
  }
  sink_ = std::make_shared<sink>();
  sink_->wake_fd = wake_fd_;
}

readiness::~readiness() {
  close();
}

void readiness::close() noexcept {
  if (epfd_ < 0) return;
  {
    const std::lock_guard<std::mutex> guard(sink_->lock);
    sink_->closed = true;
  }
  ::close(epfd_);
  epfd_ = -1;
}

void readiness::start(io_op* op, const op_args& a) {
  parked p{op, a};
  if (a.opcode == opcode::accept || a.opcode == opcode::connect) {
    // accept and connect block on a blocking socket: kyoto's own sockets
    // become non-blocking here (their reads and writes pass MSG_DONTWAIT,
    // so nothing else changes for them).
    if (const int err = make_nonblocking(a.fd); err != 0) {
      finish(op, err);
      return;
    }
  }
  int result = 0;
  switch (try_request(p, result)) {
    case outcome::done:
      finish(op, result);
      return;
    case outcome::pool:
      to_pool(p);
      return;
    case outcome::park:
      break;
  }
  auto [it, fresh] = parked_.emplace(op, p);
  (void)fresh;
  switch (park(it->second, result)) {
    case outcome::park:
      return;
    case outcome::done:  // the peer's shutdown, reported before this request came
      parked_.erase(it);
      finish(op, result);
      return;
    case outcome::pool:
      // Not pollable: a regular file (or a directory) whose non-blocking
      // attempt would have blocked on the disk.
      parked_.erase(it);
      to_pool(p);
      return;
  }
}

readiness::outcome readiness::try_request(parked& p, int& result, bool shut) {
  for (;;) {
    long r = 0;
    switch (p.a.opcode) {
      case opcode::recv:
      case opcode::send: {
        const bool all = (p.a.op_flags & MSG_WAITALL) != 0;
        const int flags =
            static_cast<int>(p.a.op_flags & ~static_cast<std::uint32_t>(MSG_WAITALL)) |
            MSG_DONTWAIT | (p.a.opcode == opcode::send ? MSG_NOSIGNAL : 0);
        char* at = static_cast<char*>(ptr(p.a.addr)) + p.moved;
        const std::size_t left = p.a.len - p.moved;
        r = p.a.opcode == opcode::recv ? ::recv(p.a.fd, at, left, flags)
                                       : ::send(p.a.fd, at, left, flags);
        if (r > 0) {
          p.moved += static_cast<std::uint32_t>(r);
          if (all && p.moved < p.a.len) continue;  // MSG_WAITALL: the rest
          result = static_cast<int>(p.moved);
          return outcome::done;
        }
        if (r == 0) {
          result = static_cast<int>(p.moved);  // the end (or an empty buffer)
          return outcome::done;
        }
        break;
      }
      case opcode::recvmsg:
        r = ::recvmsg(p.a.fd, static_cast<msghdr*>(ptr(p.a.addr)),
                      static_cast<int>(p.a.op_flags) | MSG_DONTWAIT);
        break;
      case opcode::sendmsg:
        r = ::sendmsg(p.a.fd, static_cast<const msghdr*>(ptr(p.a.addr)),
                      static_cast<int>(p.a.op_flags) | MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case opcode::accept:
        r = ::accept4(p.a.fd, static_cast<sockaddr*>(ptr(p.a.addr)),
                      static_cast<socklen_t*>(ptr(p.a.off)), static_cast<int>(p.a.op_flags));
        break;
      case opcode::connect:
        if (p.connecting) {
          pollfd pfd{p.a.fd, POLLOUT, 0};
          if (::poll(&pfd, 1, 0) == 0) return outcome::park;  // not yet
          int err = 0;
          socklen_t n = sizeof err;
          r = ::getsockopt(p.a.fd, SOL_SOCKET, SO_ERROR, &err, &n);
          result = r < 0 ? -errno : -err;
          return outcome::done;
        }
        r = ::connect(p.a.fd, static_cast<const sockaddr*>(ptr(p.a.addr)),
                      static_cast<socklen_t>(p.a.off));
        if (r < 0 && (errno == EINPROGRESS || errno == EINTR)) {
          p.connecting = true;  // finishes in the background; EPOLLOUT says when
          return outcome::park;
        }
        break;
      case opcode::read:
      case opcode::write: {
        const bool reading = p.a.opcode == opcode::read;
        iovec iov{static_cast<char*>(ptr(p.a.addr)), p.a.len};
        const off_t off = p.a.off == ~std::uint64_t{0} ? -1 : static_cast<off_t>(p.a.off);
        if (p.nowait_refused) {
          // No RWF_NOWAIT on this descriptor: call once it polls ready.
          pollfd pfd{p.a.fd, static_cast<short>(reading ? POLLIN : POLLOUT), 0};
          if (::poll(&pfd, 1, 0) == 0) return outcome::park;
          r = reading ? ::preadv2(p.a.fd, &iov, 1, off, 0) : ::pwritev2(p.a.fd, &iov, 1, off, 0);
          break;
        }
        r = reading ? ::preadv2(p.a.fd, &iov, 1, off, RWF_NOWAIT)
                    : ::pwritev2(p.a.fd, &iov, 1, off, RWF_NOWAIT);
        if (r < 0 && errno == EOPNOTSUPP) {
          p.nowait_refused = true;
          return outcome::park;  // park() sends what epoll refuses to the pool
        }
        break;
      }
      case opcode::poll_add: {
        pollfd pfd{p.a.fd, static_cast<short>(p.a.op_flags), 0};
        r = ::poll(&pfd, 1, 0);
        if (r > 0) {
          result = static_cast<unsigned short>(pfd.revents);
          return outcome::done;
        }
        if (r == 0) return outcome::park;
        break;
      }
      case opcode::shutdown:
        r = ::shutdown(p.a.fd, static_cast<int>(p.a.len));
        break;
      case opcode::close:
        watched_.erase(p.a.fd);  // nothing can be parked on it: its owner closes it
        fd_epoch_bump(p.a.fd);   // other reactors' kept registrations of it go stale
        r = ::close(p.a.fd);
        break;
      default:
        return outcome::pool;  // paths and files
    }
    if (r >= 0) {
      result = static_cast<int>(r);
      return outcome::done;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      const bool reads =
          p.a.opcode == opcode::recv || p.a.opcode == opcode::recvmsg || p.a.opcode == opcode::read;
      if (!shut || !reads) return outcome::park;
      result = static_cast<int>(p.moved);  // shut down for reading: the end
      return outcome::done;
    }
    result = p.moved > 0 ? static_cast<int>(p.moved) : -errno;
    return outcome::done;
  }
}

readiness::outcome readiness::park(parked& p, int& result) {
  const int fd = p.a.fd;
  auto it = watched_.find(fd);
  std::uint32_t epoch = 0;
  if (it != watched_.end() && it->second.lasting &&
      (!fd_epoch_read(fd, epoch) || epoch != it->second.epoch)) {
    // Kept for a socket since closed: its registration went with it (or
    // lives on in a duplicate of the file, whose events the epoch in their
    // data tells apart). The number is a new descriptor's now.
    watched_.erase(it);
    it = watched_.end();
  }
  if (it == watched_.end()) {
    it = watched_.emplace(fd, watched{}).first;
    if (socket_request(p.a.opcode) && fd_epoch_read(fd, epoch)) {
      it->second.lasting = true;
      it->second.epoch = epoch;
    }
  }
  watched& w = it->second;
  if (w.shut && (interest(p.a) & read_events) != 0) {
    // An edge-triggered registration reports the peer's shutdown once; a
    // read that comes after gets no event (a datagram socket answers it
    // with EAGAIN forever), so it ends here, as a blocking read would.
    if (try_request(p, result, true) == outcome::done) return outcome::done;
  }
  w.idle_events = 0;
  w.waiters.push_back(&p);
  if (arm(fd, w)) return outcome::park;
  w.waiters.pop_back();
  if (w.waiters.empty() && w.armed == 0) watched_.erase(fd);
  return outcome::pool;
}

bool readiness::arm(int fd, watched& w) {
  std::uint32_t want = 0;
  for (const parked* p : w.waiters)
    want |= interest(p->a);
  if (w.lasting) want |= read_events | write_events | w.armed;  // both ways, once
  if (want == 0 || (w.armed & want) == want) return true;
  epoll_event ev{};
  int r;
  if (w.lasting) {
    // Kept: edge-triggered, so it never needs re-arming. ADD first (a new
    // registration); EEXIST is an earlier one-shot registration of this
    // file (a poll request's), or one adding EPOLLPRI, changed in place.
    ev.events = want | EPOLLET;
    ev.data.u64 = key_of(fd, w.epoch);
    r = ::epoll_ctl(epfd_, w.armed == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    if (r != 0 && errno == EEXIST) r = ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  } else {
    ev.events = want | EPOLLONESHOT;
    ev.data.u64 = key_of(fd, 0);
    // MOD first: the descriptor usually is registered from an earlier wait;
    // ENOENT means it is not (new, or closed and its number reused).
    r = ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    if (r != 0 && errno == ENOENT) r = ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
  if (r != 0) {
    if (errno == EPERM) return false;  // a regular file or a directory
    // EBADF and the like: the request fails as its call would.
    const int err = errno;
    std::vector<parked*> failed;
    failed.swap(w.waiters);
    watched_.erase(fd);
    for (parked* p : failed) {
      io_op* op = p->op;
      parked_.erase(op);
      finish(op, -err);
    }
    return true;
  }
  w.armed = want;
  return true;
}

void readiness::finish(io_op* op, int result) {
  done_.push_back(completion{reinterpret_cast<std::uint64_t>(op), result, 0});
}

void readiness::to_pool(const parked& p) {
  file_pool::get().run(file_pool::job{p.a, p.op, sink_});
}

void readiness::cancel(io_op* op) {
  const auto it = parked_.find(op);
  if (it == parked_.end()) return;  // on the file pool, or completed
  parked& p = it->second;
  const auto w = watched_.find(p.a.fd);
  if (w != watched_.end()) {
    std::erase(w->second.waiters, &p);
    // A stale one-shot arm is harmless; a kept registration stays.
    if (w->second.waiters.empty() && !w->second.lasting) watched_.erase(w);
  }
  finish(op, p.moved > 0 ? static_cast<int>(p.moved) : -ECANCELED);
  parked_.erase(it);
}

void readiness::gather(long long timeout_ns, bool consume_wake) {
  if (epfd_ < 0) return;
  epoll_event events[64];
  int n;
  if (timeout_ns == 0) {
    n = ::epoll_wait(epfd_, events, 64, 0);
  } else if (timeout_ns < 0) {
    n = ::epoll_wait(epfd_, events, 64, -1);
  } else {
    n = -1;
    errno = ENOSYS;
    if (pwait2_) {
      timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                  static_cast<long>(timeout_ns % 1'000'000'000)};
      n = ::epoll_pwait2(epfd_, events, 64, &ts, nullptr);
    }
    if (n < 0 && errno == ENOSYS) {
      pwait2_ = false;  // before Linux 5.11 (or a sandbox without it): milliseconds
      const long long ms = std::min<long long>((timeout_ns + 999'999) / 1'000'000, INT_MAX);
      n = ::epoll_wait(epfd_, events, 64, static_cast<int>(ms));
    }
  }
  if (n < 0) {
    if (errno == EINTR) return;  // a signal: the caller looks again
    throw_errno(errno, "kyoto: waiting for readiness (epoll_wait)");
  }
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == wake_key) {
      if (!consume_wake) continue;
      std::uint64_t count;
      (void)!::read(wake_fd_, &count, sizeof count);  // readable: does not block
      continue;
    }
    const auto fd = static_cast<int>(events[i].data.u64 & 0xffff'ffffU);
    const auto it = watched_.find(fd);
    if (it == watched_.end()) continue;  // its requests were cancelled
    watched& w = it->second;
    const std::uint32_t ev = events[i].events;
    const bool shut = (ev & (EPOLLRDHUP | EPOLLHUP)) != 0;
    // Which waiters this event may unblock: all of them for a one-shot
    // registration (re-armed below for those still blocked) or an error.
    std::uint32_t wakes = ~std::uint32_t{0};
    if (w.lasting) {
      if (events[i].data.u64 >> 32 != w.epoch) continue;  // a closed socket's duplicate
      w.shut = w.shut || shut;
      if (w.waiters.empty()) {
        if (++w.idle_events >= idle_events_kept) {
          // Nobody here waits on it: its task moved to another worker, or
          // it is idle. Stop being woken for it; the next wait adds it.
          // No request of ours keeps the socket open now, so the DEL holds
          // the number against a close on another thread; a socket closed
          // already took its registration with it.
          std::uint32_t now = 0;
          if (fd_epoch_hold(fd, w.epoch)) {
            (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
            fd_epoch_release(fd, w.epoch);
          } else if (fd_epoch_read(fd, now) && now == w.epoch) {
            continue;  // another reactor holds it for its own DEL: next event
          }
          watched_.erase(it);
        }
        continue;
      }
      if ((ev & (EPOLLERR | EPOLLHUP)) == 0) wakes = ev;
    } else {
      w.armed = 0;  // one-shot: disarmed by this event
    }
    std::size_t still = 0;  // the waiters kept, compacted in place
    for (parked* p : w.waiters) {
      int result = 0;
      // Not this event's direction, or still EAGAIN: stays parked. (pool
      // cannot happen for a parked request.)
      if ((interest(p->a) & wakes) == 0 || try_request(*p, result, shut) == outcome::park) {
        w.waiters[still++] = p;
        continue;
      }
      io_op* op = p->op;
      parked_.erase(op);
      finish(op, result);
    }
    w.waiters.resize(still);
    if (w.lasting) continue;  // still registered, edge-triggered
    if (w.waiters.empty()) {
      watched_.erase(it);
    } else {
      (void)arm(fd, w);  // pollable: it was armed before
    }
  }
}

void readiness::drain_sink() {
  // Acquire: pairs with the pool thread's release store.
  if (!sink_->any.load(std::memory_order_acquire)) return;
  const std::lock_guard<std::mutex> guard(sink_->lock);
  for (const completion& c : sink_->done)
    done_.push_back(c);
  sink_->done.clear();
  // Relaxed: under the lock, which the next pool thread's store takes.
  sink_->any.store(false, std::memory_order_relaxed);
}

unsigned readiness::take(completion* out, unsigned max) {
  if (done_.empty() && !parked_.empty()) gather(0, false);
  drain_sink();
  unsigned n = 0;
  while (n < max && !done_.empty()) {
    out[n++] = done_.front();
    done_.pop_front();
  }
  return n;
}

void readiness::wait(std::optional<std::chrono::nanoseconds> timeout) {
  drain_sink();
  long long ns = -1;
  if (!done_.empty()) {
    ns = 0;
  } else if (timeout) {
    ns = std::max<long long>(timeout->count(), 0);
  }
  gather(ns, true);
  drain_sink();
}

}  // namespace kyoto::detail
