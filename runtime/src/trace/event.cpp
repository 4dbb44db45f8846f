// kyoto::trace events, written to spdlog's default logger.
#include <kyoto/trace/event.hpp>

#include <spdlog/spdlog.h>

namespace kyoto::trace {

namespace {

spdlog::level::level_enum to_spdlog(level lvl) noexcept {
  switch (lvl) {
    case level::trace:
      return spdlog::level::trace;
    case level::debug:
      return spdlog::level::debug;
    case level::info:
      return spdlog::level::info;
    case level::warn:
      return spdlog::level::warn;
    case level::error:
      break;
  }
  return spdlog::level::err;
}

}  // namespace

std::string format_event(std::string_view message, std::initializer_list<field> fields) {
  std::string out = span::current().context();
  if (!out.empty()) out += ": ";
  out += message;
  bool first = message.empty();  // fields alone: no leading space
  for (const field& f : fields) {
    if (!first) out += ' ';
    first = false;
    out += f.key;
    out += '=';
    out += f.value;
  }
  return out;
}

bool enabled(level lvl) noexcept {
  spdlog::logger* logger = spdlog::default_logger_raw();
  return logger != nullptr && logger->should_log(to_spdlog(lvl));
}

void event(level lvl, std::string_view message, std::initializer_list<field> fields) noexcept {
  spdlog::logger* logger = spdlog::default_logger_raw();
  const spdlog::level::level_enum l = to_spdlog(lvl);
  if (logger == nullptr || !logger->should_log(l)) return;
  try {
    logger->log(l, "{}", format_event(message, fields));
  } catch (const std::exception& e) {
    // spdlog's own errors go to its handler; this is formatting's bad_alloc.
    spdlog::log(spdlog::level::err, "kyoto::trace::event: could not format an event: {}", e.what());
  }
}

}  // namespace kyoto::trace
