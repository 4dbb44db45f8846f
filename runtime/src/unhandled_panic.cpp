// kyoto::unhandled_panic::shutdown_runtime.
//
// The runtime's scheduler is wrapped in `shutdown_on_exception`, which sees
// every block_on (the runtime's block_on goes through it) and every task the
// runtime spawns from outside (it points them at the inner scheduler, so a
// task's hot calls never go through the wrapper). A task that ends with an
// exception calls note_task_exception() (task_cell.hpp's complete()); the
// wrapper registered for the task's scheduler then records the exception
// and aborts every running block_on's root, whose block_on shuts the
// runtime down on its own thread (a thread that may block: never a worker)
// and throws.
#include "unhandled_panic.hpp"

#include "log.hpp"

#include <kyoto/runtime/detail/task_cell.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kyoto::detail {

namespace {

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

class shutdown_on_exception;

/// The live wrappers. A task's exception looks its scheduler up here; a
/// wrapper leaves before its inner scheduler can go away.
std::mutex registry_lock;
std::vector<shutdown_on_exception*> registry;  // guarded by registry_lock
/// registry.size(), read without the lock: a task's exception costs nothing
/// more while no runtime asked for shutdown_runtime. Relaxed: a runtime is
/// built (and registered) before any of its tasks can run, and the task's
/// spawn orders the two.
std::atomic<std::size_t> registered{0};

/// The wrapper whose block_on this thread has begun and whose root it has
/// not spawned yet: the next spawn from this thread onto it is that root.
thread_local const void* root_pending = nullptr;

class shutdown_on_exception final : public scheduler {
 public:
  explicit shutdown_on_exception(std::shared_ptr<scheduler> inner) : inner_(std::move(inner)) {
    const std::lock_guard g(registry_lock);
    registry.push_back(this);
    registered.store(registry.size(), std::memory_order_relaxed);
  }

  shutdown_on_exception(const shutdown_on_exception&) = delete;
  shutdown_on_exception& operator=(const shutdown_on_exception&) = delete;

  ~shutdown_on_exception() override {
    const std::lock_guard g(registry_lock);
    std::erase(registry, this);
    registered.store(registry.size(), std::memory_order_relaxed);
  }

  void schedule(task_header* task) noexcept override { inner_->schedule(task); }
  void track(task_header* task) noexcept override { inner_->track(task); }
  void release(task_header* task) noexcept override { inner_->release(task); }

  void spawn(task_header* task) noexcept override {
    if (root_pending == this) {
      // block_on's root: listed before it can run, so its own exception
      // never counts.
      root_pending = nullptr;
      const std::lock_guard g(lock_);
      try {
        roots_.push_back(task);
      } catch (...) {
        task->abort();  // out of memory: the root cannot be cancelled later
      }
      if (tripped_) task->abort();
    }
    task->sched = inner_.get();  // the task's own calls skip the wrapper
    inner_->spawn(task);
  }

  void begin_block_on() override {
    try {
      inner_->begin_block_on();  // throws for a runtime thread, or once shut down
    } catch (const std::logic_error&) {
      if (std::optional<std::string> why = tripped()) throw_shut_down(*why);
      throw;
    }
    {
      const std::lock_guard g(lock_);
      if (!tripped_) {
        root_pending = this;
        return;
      }
    }
    inner_->end_block_on();
    inner_->shutdown();  // a thread that may block: never one of the runtime's
    throw_shut_down(tripped().value_or(""));
  }

  void block_on(task_header* root) override {
    struct unlist {
      shutdown_on_exception& self;
      task_header* root;
      ~unlist() {
        const std::lock_guard g(self.lock_);
        std::erase(self.roots_, root);
      }
    };
    {
      const unlist listed{*this, root};
      inner_->block_on(root);
    }
    std::string why;
    {
      const std::lock_guard g(lock_);
      if (!tripped_) return;
      why = message_;
    }
    inner_->shutdown();  // on block_on's thread: never one of the runtime's
    throw std::runtime_error(
        std::string("kyoto::runtime::block_on: cancelled: a spawned task ended with an "
                    "exception and the runtime shut down (unhandled_panic::shutdown_runtime): ") +
        why);
  }

  void end_block_on() noexcept override {
    root_pending = nullptr;
    inner_->end_block_on();
  }
  void shutdown() noexcept override { inner_->shutdown(); }
  scheduler& blocking_pool() noexcept override { return inner_->blocking_pool(); }
  runtime_metrics metrics() const override { return inner_->metrics(); }
  bool runs_tasks_on_one_thread() const noexcept override {
    return inner_->runs_tasks_on_one_thread();
  }

  /// The exception's text once a task's exception shut the runtime down.
  std::optional<std::string> tripped() {
    const std::lock_guard g(lock_);
    if (!tripped_) return std::nullopt;
    return message_;
  }

  [[noreturn]] static void throw_shut_down(const std::string& why) {
    throw std::logic_error(
        std::string("kyoto::runtime::block_on: the runtime was shut down because a spawned "
                    "task ended with an exception (unhandled_panic::shutdown_runtime): ") +
        why);
  }

  bool runs(const task_header* task) const noexcept {
    return task->sched == static_cast<task_scheduler*>(inner_.get());
  }

  /// `task` (one of ours) ended with `e`. Registry lock held: this object
  /// stays alive meanwhile.
  void on_task_exception(task_header* task, const std::exception_ptr& e) noexcept {
    const std::lock_guard g(lock_);
    if (std::find(roots_.begin(), roots_.end(), task) != roots_.end()) return;  // block_on's own
    if (tripped_) return;
    tripped_ = true;
    try {
      message_ = describe(e);
    } catch (...) {
      message_.clear();  // out of memory: shut down without the text
    }
    log_error(
        "a spawned task ended with an exception; shutting the runtime down "
        "(unhandled_panic::shutdown_runtime): {}",
        message_);
    for (task_header* r : roots_)
      r->abort();
  }

 private:
  std::shared_ptr<scheduler> inner_;
  std::mutex lock_;
  std::vector<task_header*> roots_;  // running block_on roots; guarded by lock_
  bool tripped_ = false;             // guarded by lock_
  std::string message_;              // guarded by lock_
};

}  // namespace

std::shared_ptr<scheduler> shut_down_on_task_exception(std::shared_ptr<scheduler> inner) {
  return std::make_shared<shutdown_on_exception>(std::move(inner));
}

void note_task_exception(task_header* task, const std::exception_ptr& e) noexcept {
  if (registered.load(std::memory_order_relaxed) == 0) return;
  const std::lock_guard g(registry_lock);
  for (shutdown_on_exception* s : registry) {
    if (s->runs(task)) {
      s->on_task_exception(task, e);
      return;
    }
  }
}

}  // namespace kyoto::detail
