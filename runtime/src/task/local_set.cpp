// The local_set's scheduler; the protocol is described in local_core.hpp.
#include "log.hpp"
#include "task/local_core.hpp"

#include <kyoto/runtime/local_set.hpp>

#include <kyoto/runtime/detail/context.hpp>
#include <kyoto/runtime/detail/local_run.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto::detail {

local_core::~local_core() {
  if (driving_) {
    log_error("kyoto::local_set destroyed while its run_until is being awaited; aborting");
    std::terminate();
  }
  task_queue taken;
  {
    lock_guard g(lock_);
    closed_ = true;
    taken.append(remote_);
  }
  taken.append(local_);
  context& ctx = current_context;
  local_core* const outer = ctx.local_set;
  // Destructors of the cancelled tasks see the set (spawn_local in them
  // is cancelled on the spot: closing_).
  ctx.local_set = this;
  closing_ = true;
  while (task_header* t = taken.pop_front()) {
    if (!t->owned_linked) t->shutdown();  // never went idle: not in owned_
  }
  while (!owned_.empty())
    owned_.front()->shutdown();  // cancels; release() unlinks it
  // Spawned or woken by the destructors above: cancelled already, or on
  // owned_ (emptied above), so what is queued now is dropped.
  ctx.local_set = outer;
}

void local_core::check_owner(const char* operation) const {
  if (std::this_thread::get_id() != owner_) [[unlikely]] {
    throw std::logic_error(std::string(operation) +
                           ": called on a thread other than the one that created the local_set "
                           "(its tasks run only there)");
  }
}

void local_core::spawn(task_header* task) noexcept {
  task->sched = this;
  if (closing_) {
    task->shutdown();
    return;
  }
  if (in_step()) {
    local_.push_back(task);
    return;
  }
  lock_guard g(lock_);
  remote_.push_back(task);
  wake_driver_locked();
}

void local_core::schedule(task_header* task) noexcept {
  if (in_step()) {
    // While closing, the wake is dropped: the destructor cancels the task.
    if (!closing_) local_.push_back(task);
    return;
  }
  lock_guard g(lock_);
  if (closed_) return;  // the destructor cancels it through owned_
  remote_.push_back(task);
  wake_driver_locked();
}

void local_core::release(task_header* task) noexcept {
  if (task->owned_linked) owned_.remove(task);
  task->unref();
}

void local_core::op_woken() noexcept {
  if (in_step()) {
    op_ready_ = true;
    return;
  }
  lock_guard g(lock_);
  op_notified_ = true;
  wake_driver_locked();
}

void local_core::wake_driver_locked() noexcept {
  // Under lock_: the driver's end_drive() takes it too (the wake rule).
  if (wake_node* n = std::exchange(waiting_driver_, nullptr)) n->wake();
}

void local_core::begin_drive(wake_node& node, std::coroutine_handle<> driver) {
  static constexpr const char* op = "kyoto::local_set::run_until";
  context& ctx = current_context;
  if (ctx.task == nullptr) throw_outside_task(op);
  check_owner(op);
  // The enclosing task must never move to another thread while the set's
  // tasks run inside it.
  const bool pinned =
      ctx.local_set != nullptr || (ctx.sched != nullptr && ctx.sched->runs_tasks_on_one_thread());
  if (!pinned) {
    throw std::logic_error(std::string(op) +
                           ": must be awaited on a current_thread runtime (or inside another "
                           "local_set): a multi_thread runtime may move the awaiting task to "
                           "another worker, and local tasks must stay on their thread");
  }
  if (driving_) {
    throw std::logic_error(std::string(op) + ": the local_set is already being run");
  }
  if (closing_) throw std::logic_error(std::string(op) + ": the local_set is being destroyed");
  bool known = false;
  for (const auto& r : runtimes_)
    known = known || r.get() == ctx.sched;
  if (!known && ctx.sched != nullptr) runtimes_.push_back(ctx.sched->shared_from_this());
  node.prepare(driver);
  driving_ = true;
  op_ready_ = true;  // a new nested task starts NOTIFIED
}

bool local_core::step(task_header& op, wake_node& node) {
  {
    lock_guard g(lock_);
    local_.append(remote_);
    if (std::exchange(op_notified_, false)) op_ready_ = true;
  }
  context& ctx = current_context;
  local_core* const outer_set = ctx.local_set;
  task_header* const outer_task = ctx.task;
  const std::uint32_t outer_budget = ctx.budget;
  ctx.local_set = this;
  if (op_ready_) {
    // A nested run inside the enclosing task (it spends its budget).
    op_ready_ = op.run();  // true: woken while running, or it yielded
  }
  // Local tasks get top-level runs: each its own budget (task_header::run
  // resets it when no task encloses the run).
  ctx.task = nullptr;
  for (std::uint32_t n = 0; n < max_tasks_per_step && !op.is_complete(); ++n) {
    task_header* t = local_.pop_front();
    if (t == nullptr) break;
    if (t->run()) local_.push_back(t);
  }
  ctx.task = outer_task;
  ctx.budget = outer_budget;
  ctx.local_set = outer_set;
  if (op.is_complete()) return false;
  if (!op_ready_ && local_.empty()) {
    lock_guard g(lock_);
    if (remote_.empty() && !op_notified_) {
      waiting_driver_ = &node;
      return true;
    }
  }
  // Work is left: run it after the enclosing runtime's other ready tasks.
  node.task->yield(&node);
  return true;
}

void local_core::end_drive(task_header& op, wake_node& node) noexcept {
  {
    lock_guard g(lock_);
    if (waiting_driver_ == &node) waiting_driver_ = nullptr;
  }
  if (!op.is_complete()) {
    context& ctx = current_context;
    local_core* const outer = ctx.local_set;
    ctx.local_set = this;  // its destructors see the set, as the op did
    op.shutdown();
    ctx.local_set = outer;
  }
  {
    lock_guard g(lock_);
    op_notified_ = false;
  }
  op_ready_ = false;
  driving_ = false;
  // Woken (by a wake that took the registration) or yielded, and not resumed.
  node.task->purge(&node);
}

}  // namespace kyoto::detail

namespace kyoto {

local_set::local_set() : core_(new detail::local_core()) {}

local_set::~local_set() {
  delete core_;
}

namespace detail {

local_core& current_local_core(const char* operation) {
  local_core* c = current_context.local_set;
  if (c == nullptr) [[unlikely]] {
    throw std::logic_error(std::string(operation) +
                           ": called outside a local_set (spawn local tasks from inside "
                           "local_set::run_until or block_on, from a local task, or with "
                           "local_set::spawn_local)");
  }
  return *c;
}

void local_spawn(local_core& core, task_header* cell) noexcept {
  core.spawn(cell);
}

void local_check_owner(local_core& core, const char* operation) {
  core.check_owner(operation);
}

task_scheduler* local_op_scheduler(local_core& core) noexcept {
  return core.op_scheduler();
}

void local_begin_drive(local_core& core, wake_node& node, std::coroutine_handle<> driver) {
  core.begin_drive(node, driver);
}

bool local_step(local_core& core, task_header& op, wake_node& node) {
  return core.step(op, node);
}

void local_end_drive(local_core& core, task_header& op, wake_node& node) noexcept {
  core.end_drive(op, node);
}

}  // namespace detail

}  // namespace kyoto
