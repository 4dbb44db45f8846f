#include <kyoto/sync/oneshot.hpp>

#include <stdexcept>

namespace kyoto::sync::oneshot::detail {

void throw_misuse(const char* what) {
  throw std::logic_error(what);
}

}  // namespace kyoto::sync::oneshot::detail
