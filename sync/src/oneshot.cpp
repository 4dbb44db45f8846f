#include <kyoto/sync/detail/oneshot_state.hpp>

#include <stdexcept>

namespace kyoto::detail {

void throw_oneshot_misuse(const char* what) {
  throw std::logic_error(what);
}

}  // namespace kyoto::detail
