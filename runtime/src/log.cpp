#include "log.hpp"

#include <kyoto/runtime/detail/task_cell.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

namespace kyoto::detail {

namespace {

std::shared_ptr<spdlog::logger> make_logger() {
  auto l = std::make_shared<spdlog::logger>(
      "kyoto", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  l->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] [thread %t] %v");
  spdlog::level::level_enum level = spdlog::level::off;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): kyoto never calls setenv; read once, at first log
  if (const char* env = std::getenv("KYOTO_LOG")) {
    level = spdlog::level::from_str(env);  // unknown names mean off
  }
  l->set_level(level);
  l->flush_on(spdlog::level::warn);
  return l;
}

}  // namespace

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}

void log_unobserved_exception(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log_error("a detached task ended with an exception nobody will observe: {}", ex.what());
  } catch (...) {
    log_error("a detached task ended with an exception nobody will observe (not a std::exception)");
  }
}

}  // namespace kyoto::detail
