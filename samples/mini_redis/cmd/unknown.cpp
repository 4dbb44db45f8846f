// mini-redis's answer to an unknown command (upstream src/cmd/unknown.rs).
#include "unknown.hpp"

namespace mini_redis::cmd {

kyoto::task<> unknown::apply(connection& dst) const {
  const frame response = frame::error{std::string("ERR unknown command '") + command_name_ + "'"};
  co_await dst.write_frame(response);
}

}  // namespace mini_redis::cmd
