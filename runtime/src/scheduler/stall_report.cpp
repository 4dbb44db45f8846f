// The stall report's wording; the protocol is described in stall_report.hpp.
#include "scheduler/stall_report.hpp"

#include "log.hpp"

#include <string>

namespace kyoto::detail {

bool stall_reports_logged() noexcept {
  return logger().should_log(spdlog::level::warn);
}

void log_stall(const poll_identity& poll, std::chrono::steady_clock::duration ran,
               std::chrono::milliseconds threshold, std::string_view thread,
               std::string_view unit) noexcept {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ran).count();
  const std::string named = poll.name.empty() ? std::string() : std::string(" '") + poll.name + "'";
  std::string where;
  if (poll.file != nullptr && poll.line != 0) {
    where = std::string(poll.file) + ":" + std::to_string(poll.line);
  } else {
    where = poll.spawner != nullptr ? poll.spawner : "an unknown location";
  }
  log_warn(
      "stall: task {}{} (spawned at {}) has run for {} ms on {} without yielding (stall "
      "threshold {} ms); every task waiting on that {} waits with it",
      poll.id, named, where, ms, thread, threshold.count(), unit);
}

}  // namespace kyoto::detail
