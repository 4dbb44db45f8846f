// The misuse errors of kyoto::sync, out of line to keep the hot paths small.
#include <kyoto/sync/detail/chan.hpp>
#include <kyoto/sync/detail/misuse.hpp>
#include <kyoto/sync/detail/mpsc_handles.hpp>

#include <stdexcept>
#include <string>

namespace kyoto::detail {

void throw_empty_handle(const char* operation) {
  throw std::logic_error(std::string(operation) + ": the handle is empty (moved from)");
}

void throw_awaited_twice(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": this operation was already awaited, or moved from (each call gives "
                         "an awaiter for one await)");
}

void throw_concurrent_recv() {
  throw std::logic_error(
      "kyoto::sync::mpsc::receiver: a receive while another recv() is in progress (a receiver "
      "is used by one task at a time)");
}

void throw_used_permit(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": the permit was already used (sent or released), or moved from");
}

void throw_mpsc_bad_capacity(std::size_t capacity) {
  throw std::invalid_argument(
      "kyoto::sync::mpsc::channel: capacity must be between 1 and max_capacity, got " +
      std::to_string(capacity));
}

}  // namespace kyoto::detail
