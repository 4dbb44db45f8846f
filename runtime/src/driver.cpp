#include "driver.hpp"

#include "log.hpp"

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <liburing.h>

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

#if defined(__SANITIZE_ADDRESS__)
#define KYOTO_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KYOTO_LSAN 1
#endif
#endif
#ifndef KYOTO_LSAN
#define KYOTO_LSAN 0
#endif
#if KYOTO_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace kyoto::detail {

namespace {

/// The signal that asks a driver's thread for an assist (driver.hpp).
constexpr int assist_signal = SIGURG;

/// The driver the calling thread may be assisted for (enable_assist()).
/// Initial-exec: the handler reads it, and must not allocate TLS.
__attribute__((tls_model("initial-exec"))) thread_local driver* assisted = nullptr;

/// The handler kyoto's replaced, called for a SIGURG that is not an assist
/// (written once, before our handler is installed).
struct sigaction previous_handler = {};

void assist_handler(int sig, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  driver* d = assisted;
  if (d == nullptr || !d->assist_here()) {
    // Not ours (or a repeat of one already served): what was there before.
    if ((previous_handler.sa_flags & SA_SIGINFO) != 0) {
      if (previous_handler.sa_sigaction != nullptr) previous_handler.sa_sigaction(sig, info, uctx);
    } else if (previous_handler.sa_handler != SIG_DFL && previous_handler.sa_handler != SIG_IGN) {
      previous_handler.sa_handler(sig);
    }
  }
  errno = saved_errno;
}

void install_assist_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa = {};
    sa.sa_sigaction = assist_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    struct sigaction old = {};
    if (::sigaction(assist_signal, nullptr, &old) != 0) {
      throw std::system_error(errno, std::system_category(),
                              "kyoto: reading SIGURG's handler (the workers' assist signal)");
    }
    previous_handler = old;
    if (::sigaction(assist_signal, &sa, nullptr) != 0) {
      throw std::system_error(errno, std::system_category(),
                              "kyoto: installing the workers' assist signal handler (SIGURG)");
    }
  });
}

}  // namespace

driver::driver(bool start_paused) : clock_(epoch_, start_paused) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    throw std::system_error(errno, std::system_category(), "kyoto: creating the wake-up eventfd");
  }
}

driver::~driver() {
  close();
  ::close(wake_fd_);
}

void driver::bind(const char* operation) {
  const std::thread::id me = std::this_thread::get_id();
  if (reactor_ == nullptr) {
    reactor_ = std::make_unique<reactor>(wake_fd_, backend_);
    reactor_->counters = &io_counters_;
    thread_ = me;
  } else if (thread_ != me) {
    throw std::logic_error(
        std::string(operation) +
        ": this current_thread runtime is driven by the thread that first ran it (it owns the "
        "runtime's io_uring ring); call it from that thread");
  }
}

std::uint64_t driver::tick_ceil(clock::time_point t) const noexcept {
  if (t <= epoch_) return 0;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch_).count();
  return (static_cast<std::uint64_t>(ns) + 999'999) / 1'000'000;
}

std::uint64_t driver::tick_floor(clock::time_point t) const noexcept {
  if (t <= epoch_) return 0;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch_).count();
  return static_cast<std::uint64_t>(ns) / 1'000'000;
}

bool driver::add_timer(timer_entry* e, clock::time_point deadline) noexcept {
  e->when = tick_ceil(deadline);
  lock_guard guard(wheel_lock_);
  if (e->when <= wheel_.elapsed()) return false;
  e->owner = this;
  wheel_.insert(e);
  return true;
}

bool driver::remove_timer(timer_entry* e) noexcept {
  lock_guard guard(wheel_lock_);
  if (!e->linked) return false;
  wheel_.remove(e);
  return true;
}

void driver::fire_timers() noexcept {
  // The thread's coarse clock for task dumps' time in state
  // (detail/await_point.hpp): every driver turn and park comes here.
  const clock::time_point t = now();
  detail::state_tick = detail::state_tick_at(t);
  lock_guard guard(wheel_lock_);
  if (wheel_.empty()) return;
  // The wakes happen under the lock (see the file comment).
  wheel_.advance(tick_floor(t), [](timer_entry* e) { e->waiter->wake(); });
}

void driver::poll() {
  process_cancels();
  reactor_->poll();
  fire_timers();
}

void driver::cancel_here(io_op* op) {
  reactor_->cancel(op);
  reactor_->submit();
}

bool driver::post_cancel(io_op* op) noexcept {
  // Relaxed: published with the op by the release CAS below.
  op->cancel_queued.store(true, std::memory_order_relaxed);
  io_op* head = cancel_head_.load(std::memory_order_relaxed);
  do {
    if (head == closed_queue) {
      op->cancel_queued.store(false, std::memory_order_relaxed);
      return false;
    }
    op->next_cancel = head;
    // Release: publishes next_cancel to process_cancels()'s acquire
    // exchange.
  } while (!cancel_head_.compare_exchange_weak(head, op, std::memory_order_release,
                                               std::memory_order_relaxed));
  wake();
  return true;
}

io_op* driver::take_cancels() noexcept {
  // Take the whole stack, but never the closed marker: swapping it out and
  // back would let a post_cancel() in between push onto a drained driver
  // (and then wait for a cancel nobody submits). Closing is final.
  io_op* op = cancel_head_.load(std::memory_order_relaxed);
  do {
    if (op == nullptr || op == closed_queue) return nullptr;
    // Acquire: pairs with post_cancel()'s release CAS.
  } while (!cancel_head_.compare_exchange_weak(op, nullptr, std::memory_order_acquire,
                                               std::memory_order_relaxed));
  return op;
}

void driver::process_cancels() {
  // Keeps the assist handler off the queue while we pop it (the handler
  // runs on this thread: relaxed stores and signal fences suffice).
  struct popping {
    atomic<bool>& flag;
    explicit popping(atomic<bool>& f) noexcept : flag(f) {
      flag.store(true, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    ~popping() {
      std::atomic_signal_fence(std::memory_order_seq_cst);
      flag.store(false, std::memory_order_relaxed);
    }
    popping(const popping&) = delete;
    popping& operator=(const popping&) = delete;
  } guard(in_cancels_);
  io_op* op = take_cancels();
  if (op == nullptr) return;
  while (op != nullptr) {
    io_op* next = op->next_cancel;
    reactor_->cancel(op);
    // Release: we are done reading the op; its waiter may free it once the
    // op is also done (acquire in io_op::cancel_slow()).
    op->cancel_queued.store(false, std::memory_order_release);
    op = next;
  }
  reactor_->submit();
}

void driver::enable_assist() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): kyoto never calls setenv
  if (const char* env = std::getenv("KYOTO_ASSIST_SIGNAL"); env != nullptr) {
    const std::string_view v(env);
    if (v == "off") return;  // no assists: a busy worker's I/O waits for it, as before
    if (v != "on") {
      throw std::invalid_argument(
          "kyoto: KYOTO_ASSIST_SIGNAL: expected on or off (whether busy workers' I/O is "
          "rescued with SIGURG)");
    }
  }
  install_assist_handler();
  sigset_t mine;
  sigemptyset(&mine);
  sigaddset(&mine, assist_signal);
  pthread_sigmask(SIG_UNBLOCK, &mine, nullptr);  // a worker inherits its creator's mask
  assisted = this;
  const std::lock_guard<std::mutex> guard(assist_mutex_);
  native_ = pthread_self();
  // Relaxed: read by the handler, on this thread.
  sync_cancel_.store((reactor::allowed_features() & reactor::feature_sync_cancel) != 0 &&
                         reactor_->backend() == io_backend_kind::io_uring,
                     std::memory_order_relaxed);
  // Release: pairs with reap_foreign()'s acquire load (the reactor, made
  // by bind() before, is complete); assist() reads it under the mutex.
  assist_on_.store(true, std::memory_order_release);
}

void driver::disable_assist() noexcept {
  const std::lock_guard<std::mutex> guard(assist_mutex_);
  // Relaxed: assist() reads it under the same mutex; the handler reads it
  // on the driver's thread, which disables its own driver (drain()).
  assist_on_.store(false, std::memory_order_relaxed);
}

unsigned driver::reap_foreign() noexcept {
  // Acquire: pairs with enable_assist()'s release store (the reactor is
  // made before). After disable_assist() nothing reaps: the drain does.
  if (!assist_on_.load(std::memory_order_acquire)) return 0;
  return reactor_->reap_foreign();
}

void driver::assist() noexcept {
  // The readiness backend defers nothing to its owner's thread: reaping
  // (reap_foreign()) and cancelling (cancel_foreign()) suffice.
  if (reactor_->backend() == io_backend_kind::epoll) return;
  const std::lock_guard<std::mutex> guard(assist_mutex_);
  if (!assist_on_.load(std::memory_order_relaxed)) return;
  // Release: pairs with the handler's acquire exchange (assist_here()):
  // the cancels posted before this call are in the queue it pops.
  assist_requested_.store(true, std::memory_order_release);
  (void)pthread_kill(native_, assist_signal);  // the thread is in its loop (assist_on_)
}

bool driver::assist_here() noexcept {
  // Acquire: pairs with assist()'s release store.
  if (!assist_requested_.exchange(false, std::memory_order_acquire)) return false;
  // Relaxed: disable_assist() ran on this thread if at all (drain()).
  if (!assist_on_.load(std::memory_order_relaxed)) return true;
  if (reactor_->owner_in_ring()) {
    // Interrupted inside its ring: only post what is deferred; whoever
    // asked asks again (the watchdog's next tick, a canceller's next nudge).
    reactor_->assist_enter(false);
    return true;
  }
  // First the requests queued before the long task (a cancel must find its
  // request in the kernel), then the cancels, then what they completed.
  reactor_->assist_enter(true);
  const int fd = reactor_->ring_fd();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (!in_cancels_.load(std::memory_order_relaxed) &&
      sync_cancel_.load(std::memory_order_relaxed)) {
    io_op* op = take_cancels();
    while (op != nullptr) {
      io_op* next = op->next_cancel;
      io_uring_sync_cancel_reg reg = {};
      reg.addr = reinterpret_cast<std::uint64_t>(op);  // its user_data (reactor::start())
      reg.fd = -1;
      reg.timeout.tv_sec = 0;  // do not wait for a request already running (-ETIME)
      reg.timeout.tv_nsec = 0;
      // 0: cancelled, its CQE is posted below; -ENOENT: it completed
      // first; -EALREADY/-ETIME: running, it ends on its own. -EINVAL: a
      // kernel without IORING_REGISTER_SYNC_CANCEL (before 6.0).
      if (::syscall(__NR_io_uring_register, fd, IORING_REGISTER_SYNC_CANCEL, &reg, 1) < 0 &&
          errno == EINVAL) {
        sync_cancel_.store(false, std::memory_order_relaxed);
        // Back on the queue for this thread's next poll (a lock-free push).
        while (op != nullptr) {
          io_op* rest = op->next_cancel;
          io_op* head = cancel_head_.load(std::memory_order_relaxed);
          do {
            op->next_cancel = head;
            // Release: as post_cancel()'s (not closed: only this thread's
            // drain closes it, after disabling assists).
          } while (!cancel_head_.compare_exchange_weak(head, op, std::memory_order_release,
                                                       std::memory_order_relaxed));
          op = rest;
        }
        break;
      }
      // Release: as in process_cancels().
      op->cancel_queued.store(false, std::memory_order_release);
      op = next;
    }
  }
  // Posts the deferred completions (DEFER_TASKRUN) into the CQ, for
  // reap_foreign() on another thread.
  reactor_->assist_enter(false);
  return true;
}

void driver::service() {
  // Relaxed: our own flag (drain() ran on this thread); the ring is closed.
  if (abandoned_.load(std::memory_order_relaxed)) return;
  process_cancels();
  reactor_->poll();
}

void driver::drain() noexcept {
  // Relaxed: a driver is drained by its scheduler's shutdown, then again by
  // close() on the same thread or one that joined the draining worker
  // (which orders its exchange below before this load): once is enough.
  if (reactor_ == nullptr || cancel_head_.load(std::memory_order_relaxed) == closed_queue) return;
  disable_assist();  // nobody signals or reaps for us from here on
  const bool here = on_driver_thread();
  if (here) {
    try {
      process_cancels();
      (void)reactor_->drain(clock::now() + drain_bound);
    } catch (const std::exception& e) {
      log_error("draining the io_uring ring at shutdown failed: {}", e.what());
    }
  }
  if (const std::uint32_t left = reactor_->in_flight(); left != 0) {
    // Loud: on stderr even with logging off. The requests stay the kernel's
    // (closing the ring below cancels what it can); the waits of their ops
    // end without them (abandoned(), io_op::cancel()).
    const char* why =
        here ? "did not end within 1 s of the runtime's shutdown (the kernel could not cancel "
               "them); they are abandoned to the ring's teardown"
             : "were in flight when the runtime was shut down on another thread than the one "
               "that drove it (only that thread may cancel them); they are abandoned to the "
               "ring's teardown";
    if (logger().should_log(spdlog::level::err)) {
      log_error("{} io_uring request{} {}", left, left == 1 ? "" : "s", why);
    } else {
      std::fprintf(stderr, "kyoto: %u io_uring request%s %s\n", static_cast<unsigned>(left),
                   left == 1 ? "" : "s", why);
    }
    // The kernel may write into these requests' memory until their CQEs,
    // which nobody will reap now: an io-wq worker finishing a file read or
    // a statx, a socket read racing the teardown below (which runs in a
    // kernel worker, after close() returns). So their tasks are never
    // cancelled or freed: the scheduler keeps them (held(), keep_held()).
    try {
      held_.reserve(left);
      reactor_->for_each_in_flight([this](io_op* op) {
        if (op->task() != nullptr) held_.push_back(op->task());
      });
      std::sort(held_.begin(), held_.end());
      held_.erase(std::unique(held_.begin(), held_.end()), held_.end());
      // Frozen now, not only at the scheduler's keep_held(): in a
      // multi_thread runtime another worker may still run tasks until it
      // leaves its loop, and must not resume these. Each is alive here (a
      // cancel of its request waits for abandoned_, set below); the
      // reference keeps its cell even if a worker already running or
      // about to run it (claim refused) ends it before keep_held().
      for (task_header* t : held_) {
        t->add_ref();  // throws only past 2^20 references
        freeze_held(t);
      }
    } catch (...) {
      // No memory to list them: freeing them could corrupt memory later.
      log_error("out of memory listing the tasks of abandoned io_uring requests; aborting");
      std::terminate();
    }
    // Release: pairs with abandoned()'s acquire in a waiting cancel.
    abandoned_.store(true, std::memory_order_release);
    // The kernel's teardown cancels what it can (polled requests: sockets,
    // pipes) and waits for the rest, in a kernel worker.
    reactor_->close_ring();
  }
  // Acquire: as in process_cancels(). Nothing is in flight now (or it is
  // abandoned), so pushes are refused from here on.
  io_op* op = cancel_head_.exchange(closed_queue, std::memory_order_acquire);
  while (op != nullptr && op != closed_queue) {
    io_op* next = op->next_cancel;
    op->cancel_queued.store(false, std::memory_order_release);  // as in process_cancels()
    op = next;
  }
}

bool driver::holds(const task_header* t) const noexcept {
  return std::binary_search(held_.begin(), held_.end(), t);
}

void freeze_held(task_header* t) noexcept {
  // Idle: claimed as a dump claims it (idle -> RUNNING) and never given
  // back, so later wakes only push and nothing runs or cancels it. Queued
  // (NOTIFIED): its queue is emptied by the shutdown, and a NOTIFIED task
  // is never submitted again. Called by drain() and again by keep_held()
  // (then it finds the task RUNNING, its own claim: nothing to do). A task
  // another worker was running when drain() froze the others is the one
  // case left: it may go on and end (drain()'s reference keeps its cell).
  (void)t->claim_for_dump();
#if KYOTO_LSAN
  // Deliberate: reachable from here on, for LeakSanitizer (the cell keeps
  // its root frame, which keeps the rest).
  __lsan_ignore_object(t);
#endif
}

void say_kept(std::size_t tasks) noexcept {
  // Loud, like the abandon itself: on stderr even with logging off.
  const char* what =
      "waiting for abandoned io_uring requests are kept, never freed (the kernel may still "
      "write into their memory): their memory is leaked";
  if (logger().should_log(spdlog::level::err)) {
    log_error("{} task{} {}", tasks, tasks == 1 ? "" : "s", what);
  } else {
    std::fprintf(stderr, "kyoto: %zu task%s %s\n", tasks, tasks == 1 ? "" : "s", what);
  }
}

void driver::park() {
  std::optional<std::chrono::nanoseconds> timeout;
  std::optional<std::uint64_t> next;
  {
    lock_guard guard(wheel_lock_);
    next = wheel_.next_deadline();
  }
  if (next) {
    const clock::time_point at = epoch_ + std::chrono::milliseconds(*next);
    timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(at - now());
    if (timeout->count() < 0) timeout = std::chrono::nanoseconds(0);
  }
  process_cancels();
  reactor_->wait(timeout);
  process_cancels();
  fire_timers();
}

void driver::park_for(std::chrono::nanoseconds d) {
  process_cancels();
  reactor_->wait(d);
  process_cancels();
  fire_timers();
}

void driver::advance_time(clock::duration d) {
  clock_.advance(d);
  fire_timers();
}

bool driver::advance_to_next_timer() {
  std::optional<std::uint64_t> next;
  {
    lock_guard guard(wheel_lock_);
    next = wheel_.next_deadline();
  }
  if (!next) return false;
  // The tick's start: tick_floor() of it is the tick, so fire_timers()
  // processes it. (The wheel clamps deadlines to 2^36 ticks, ~2 years:
  // no overflow.) A slot that only cascades wakes nothing; the scheduler
  // then parks again and comes back here for the next one.
  clock_.advance_to(epoch_ + std::chrono::milliseconds(*next));
  fire_timers();
  return true;
}

void driver::wake() noexcept {
  // The reactor keeps a read of this eventfd armed; a write completes it.
  if (::eventfd_write(wake_fd_, 1) != 0) {
    log_error("writing the wake-up eventfd failed: {}", std::system_category().message(errno));
  }
}

void driver::close() noexcept {
  drain();
  reactor_.reset();
}

}  // namespace kyoto::detail
