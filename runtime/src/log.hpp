// kyoto's logger: one spdlog logger named "kyoto", its level read once from
// the KYOTO_LOG environment variable (off, error, warn, info, debug, trace;
// off by default). Private to the library: users' builds never see spdlog.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>

namespace kyoto::detail {

/// The "kyoto" logger (created on first use; thread-safe).
/// Its messages start with the current kyoto::trace::span's context.
spdlog::logger& logger();

/// A formatter for `pattern` that also knows the flag `%&`: the current
/// kyoto::trace::span's context followed by ": " (nothing outside a span).
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern);

template <class... Args>
void log_error(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger().error(fmt, std::forward<Args>(args)...);
}

template <class... Args>
void log_warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger().warn(fmt, std::forward<Args>(args)...);
}

template <class... Args>
void log_debug(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  logger().debug(fmt, std::forward<Args>(args)...);
}

}  // namespace kyoto::detail
