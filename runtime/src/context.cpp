// The errors for misusing kyoto from the wrong place, kept out of line so
// the hot paths stay small.
#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/context.hpp>

#include <stdexcept>
#include <string>

namespace kyoto::detail {

void throw_outside_task(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": must be awaited inside a task running on a kyoto runtime");
}

void throw_outside_runtime(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": the calling thread is not running a kyoto runtime (call it from a "
                         "task, or go through kyoto::runtime or kyoto::handle)");
}

void throw_blocking_runtime_thread(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": called from a runtime thread, where blocking would stall every task "
                         "on it (co_await the async form instead)");
}

void throw_task_misuse(const char* what) {
  throw std::logic_error(what);
}

void throw_join_misuse(const char* what) {
  throw std::logic_error(what);
}

void throw_join_empty(const char* operation) {
  throw std::logic_error(std::string(operation) + ": the join_handle is empty (moved from)");
}

void throw_moved_from_runtime(const char* operation) {
  throw std::logic_error(std::string(operation) + ": the runtime was moved from");
}

void throw_spawn_started() {
  throw std::logic_error("kyoto::spawn: the task was already awaited (a task runs once)");
}

void throw_spawn_empty() {
  throw std::logic_error("kyoto::spawn: spawning an empty or moved-from task");
}

}  // namespace kyoto::detail

namespace kyoto::detail {

void throw_bad_result_access(const std::string& message) {
  throw bad_result_access(message);
}

}  // namespace kyoto::detail
