// kyoto::trace events: a message at a level, with fields, printed with the
// current span's context (tokio's tracing::event! and its shorthands
// error!, warn!, info!, debug!, trace!).
//
// Events go to spdlog's default logger — the program's "subscriber": it
// chooses the sinks, the pattern and the level (spdlog::set_default_logger,
// spdlog::set_level). kyoto's headers do not include spdlog; a program
// that configures the output depends on spdlog itself. Each event is one
// message `<span context>: <message> <key>=<value>...`, the context
// omitted outside any span:
//
//     conn{id=7}:request{method=GET}: served path=/index.html
#pragma once

#include <kyoto/trace/span.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace kyoto::trace {

/// An event's severity (tracing's Level; spdlog's levels of the same name).
enum class level : unsigned char { trace, debug, info, warn, error };

/// Logs `message` with `fields` at `lvl`, in the current span (tracing's
/// event!), to spdlog's default logger. Does nothing (nor formats) when
/// that logger's level filters `lvl` out.
///
/// Thread safety: any thread, at once (spdlog's default logger is
/// thread-safe). Never throws: a failure to format or write is spdlog's
/// to report (its error handler).
KYOTO_EXPORT void event(level lvl, std::string_view message,
                        std::initializer_list<field> fields = {}) noexcept;

/// Whether an event at `lvl` would be logged now (tracing's enabled!):
/// to skip computing costly fields.
KYOTO_EXPORT bool enabled(level lvl) noexcept;

/// The text an event inside the current span prints: the span's
/// context(), `: `, the message and the fields (`key=value`, space
/// separated; an empty message prints the fields alone, as tracing's
/// `debug!(?cmd)`); the context and its colon are omitted outside any span.
/// For programs that log through their own logger. Any thread.
KYOTO_EXPORT std::string format_event(std::string_view message,
                                      std::initializer_list<field> fields = {});

/// event() at level::trace (tracing's trace!).
inline void trace(std::string_view message, std::initializer_list<field> fields = {}) noexcept {
  event(level::trace, message, fields);
}
/// event() at level::debug (tracing's debug!).
inline void debug(std::string_view message, std::initializer_list<field> fields = {}) noexcept {
  event(level::debug, message, fields);
}
/// event() at level::info (tracing's info!).
inline void info(std::string_view message, std::initializer_list<field> fields = {}) noexcept {
  event(level::info, message, fields);
}
/// event() at level::warn (tracing's warn!).
inline void warn(std::string_view message, std::initializer_list<field> fields = {}) noexcept {
  event(level::warn, message, fields);
}
/// event() at level::error (tracing's error!).
inline void error(std::string_view message, std::initializer_list<field> fields = {}) noexcept {
  event(level::error, message, fields);
}

}  // namespace kyoto::trace
