#include "log.hpp"

#include <kyoto/trace/span.hpp>

#include <kyoto/runtime/detail/task_cell.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>

namespace kyoto::detail {

namespace {

/// The pattern flag `%&`: the current span's context and ": ", or nothing
/// outside any span (kyoto::trace::span).
class span_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string context = kyoto::trace::span::current().context();
    if (context.empty()) return;
    dest.append(context.data(), context.data() + context.size());
    dest.append(std::string_view(": "));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<span_flag>();
  }
};

std::shared_ptr<spdlog::logger> make_logger() {
  auto l = std::make_shared<spdlog::logger>(
      "kyoto", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  l->set_formatter(make_log_formatter("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] [thread %t] %&%v"));
  // Error by default: an exception nobody will observe reaches a person
  // (tokio prints a panic by default); KYOTO_LOG=off silences it.
  spdlog::level::level_enum level = spdlog::level::err;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): kyoto never calls setenv; read once, at first log
  const char* env = std::getenv("KYOTO_LOG");
  if (env != nullptr && *env != '\0') {
    level = spdlog::level::from_str(env);  // unknown names mean off; empty means unset
  }
  l->set_level(level);
  l->flush_on(spdlog::level::warn);
  return l;
}

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<span_flag>('&').set_pattern(pattern);
  return f;
}

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

void log_unobserved_exception(const std::exception_ptr& e, const void* task,
                              const std::type_info& spawned_from) noexcept {
  int status = 0;
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): __cxa_demangle's result is malloc'd
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(spawned_from.name(), nullptr, nullptr, &status), &std::free);
  const char* from = status == 0 && demangled ? demangled.get() : spawned_from.name();
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log_error(
        "a detached task (task {}, spawned from {}) ended with an exception nobody will observe: "
        "{}",
        task, from, ex.what());
  } catch (...) {
    log_error(
        "a detached task (task {}, spawned from {}) ended with an exception nobody will observe "
        "(not a std::exception)",
        task, from);
  }
}

}  // namespace kyoto::detail
