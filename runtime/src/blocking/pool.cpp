// The protocol is described in pool.hpp.
#include "blocking/pool.hpp"

#include "log.hpp"

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <pthread.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace kyoto::detail {

namespace {

/// The pool whose thread this is (set for the thread's life), so that a
/// shutdown from inside one of its own functions is told apart.
thread_local const blocking_pool* this_threads_pool = nullptr;

}  // namespace

void blocking_pool::spawn(task_header* task) noexcept {
  push(task);
}

void blocking_pool::schedule(task_header* task) noexcept {
  push(task);
}

void blocking_pool::push(task_header* task) noexcept {
  bool start_thread = false;
  {
    std::lock_guard guard(mutex_);
    if (!shutdown_) {
      queue_.push_back(task);
      if (idle_ > 0) {
        work_cv_.notify_one();
      } else if (threads_ < config_.max_threads) {
        ++threads_;
        start_thread = true;
      }
      if (!start_thread) return;  // queued; a thread will take it
    }
  }
  if (!start_thread) {
    task->shutdown();  // the pool is shut down: cancelled on the spot
    return;
  }
  try {
    std::thread([self = std::static_pointer_cast<blocking_pool>(shared_from_this())] {
      self->run_thread();
    }).detach();
  } catch (const std::system_error& e) {
    // No thread: the task waits for a running one to pick it up.
    log_error("spawn_blocking: cannot start a thread: {}", e.what());
    std::lock_guard guard(mutex_);
    --threads_;
  }
}

void blocking_pool::track(task_header*) noexcept {
  // A blocking task runs its function to the end in one run; it never goes
  // idle, and shutdown finds the queued ones in the queue.
}

void blocking_pool::release(task_header* task) noexcept {
  if (task->owned_linked) {
    std::lock_guard guard(mutex_);
    running_.remove(task);
  }
  task->unref();
}

void blocking_pool::visit_live_tasks(live_task_visitor visit, void* ctx) {
  std::lock_guard guard(mutex_);
  running_.for_each([&](task_header& t) { visit(ctx, t, false); });
  for (task_header* t = queue_.front(); t != nullptr; t = t->queue_next) {
    if (!t->owned_linked) visit(ctx, *t, false);  // a linked one was listed above
  }
}

void blocking_pool::begin_block_on() {
  throw std::logic_error("kyoto::runtime::block_on: not on the blocking pool");
}

void blocking_pool::block_on(task_header*) {}

void blocking_pool::run_thread() noexcept {
  pthread_setname_np(pthread_self(), "kyoto-blocking");
  this_threads_pool = this;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (task_header* t = queue_.pop_front()) {
      // Listed by dumps as blocking until release() (the run's end)
      // unlinks it. Already linked: an abort() re-queued it during its run.
      if (!t->owned_linked) running_.insert(t);
      lock.unlock();
      t->run();  // runs the function to the end (or cancels an aborted task)
      lock.lock();
      continue;
    }
    if (shutdown_) break;
    ++idle_;
    const bool woken =
        work_cv_.wait_for(lock, config_.keep_alive, [&] { return !queue_.empty() || shutdown_; });
    --idle_;
    if (!woken) break;  // idle for keep_alive: let the thread go
  }
  --threads_;
  exited_cv_.notify_all();
}

bool blocking_pool::shutdown_for(std::optional<std::chrono::nanoseconds> timeout) noexcept {
  if (this_threads_pool == this && !timeout) {
    // We would wait for our own thread to exit. Said on stderr even with
    // logging off: the process is about to end.
    std::fputs(
        "kyoto: a runtime was destroyed from inside one of its own spawn_blocking functions "
        "(it would wait for that function's thread to exit: a deadlock); aborting\n",
        stderr);
    std::fflush(stderr);
    std::terminate();
  }
  task_queue orphans;
  {
    std::lock_guard guard(mutex_);
    shutdown_ = true;
    // Queued tasks were spawned before the shutdown: the threads run them
    // (a thread takes from the queue before it looks at shutdown_), as
    // tokio's pool does. With no thread at all (none could be started),
    // nobody would: cancel them.
    if (threads_ == 0) orphans.append(queue_);
    work_cv_.notify_all();
  }
  while (task_header* t = orphans.pop_front())
    t->shutdown();  // never started
  std::unique_lock lock(mutex_);
  if (!timeout) {
    exited_cv_.wait(lock, [&] { return threads_ == 0; });
    return true;
  }
  return exited_cv_.wait_for(lock, *timeout, [&] { return threads_ == 0; });
}

std::size_t blocking_pool::threads() noexcept {
  std::lock_guard guard(mutex_);
  return threads_;
}

}  // namespace kyoto::detail
