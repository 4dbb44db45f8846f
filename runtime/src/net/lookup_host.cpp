#include <kyoto/net/lookup_host.hpp>
#include <kyoto/runtime/spawn_blocking.hpp>

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>

namespace kyoto::net {

namespace {

class resolve_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kyoto.resolve"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

/// getaddrinfo on the calling (blocking pool) thread.
std::vector<socket_addr> resolve(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    const std::string what = "kyoto::net::lookup_host: \"" + host + "\"";
    if (rc == EAI_SYSTEM) throw std::system_error(errno, std::system_category(), what);
    throw std::system_error(rc, resolve_category(), what);
  }
  std::vector<socket_addr> out;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
      out.emplace_back(a->ai_addr, a->ai_addrlen);
    }
  }
  ::freeaddrinfo(list);
  return out;
}

}  // namespace

const std::error_category& resolve_category() noexcept {
  static const resolve_error_category instance;
  return instance;
}

task<std::vector<socket_addr>> lookup_host(std::string host_port) {
  if (auto a = socket_addr::try_parse(host_port)) co_return std::vector<socket_addr>{*a};
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    throw std::invalid_argument("kyoto::net::lookup_host: \"" + host_port + "\" has no \":port\"");
  }
  std::string host = host_port.substr(0, colon);
  std::string port = host_port.substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535) {
    throw std::invalid_argument("kyoto::net::lookup_host: \"" + host_port +
                                "\": the port is not a number from 0 to 65535");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto resolve_on_pool = [host = std::move(host), port = std::move(port)] {
    return resolve(host, port);
  };
  co_return co_await spawn_blocking(std::move(resolve_on_pool));
}

}  // namespace kyoto::net
