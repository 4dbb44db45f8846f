#include "sim/hooks.hpp"

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

/// What getaddrinfo gave: the addresses, or its error.
struct resolved {
  std::vector<socket_addr> addrs;
  int gai_error = 0;  ///< EAI_*, 0 on success
  int sys_error = 0;  ///< errno, for EAI_SYSTEM
};

/// getaddrinfo on the calling (blocking pool) thread. Its error comes back
/// as a value, thrown on the awaiting thread: an exception object crossing
/// threads is freed by whichever drops it last, through libstdc++'s
/// reference count, which ThreadSanitizer cannot see (it reported the
/// pool thread's free racing with the caller's read of what()).
resolved resolve(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  resolved out;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    out.gai_error = rc;
    out.sys_error = rc == EAI_SYSTEM ? errno : 0;
    return out;
  }
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
      out.addrs.emplace_back(a->ai_addr, a->ai_addrlen);
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
  // Inside a simulated host, names are the network's (runtime/src/sim).
  if (detail::sim_current_host != nullptr) [[unlikely]]
    co_return detail::sim_lookup(host_port);
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
  const std::string what = "kyoto::net::lookup_host: \"" + host + "\"";
  auto resolve_on_pool = [host = std::move(host), port = std::move(port)] {
    return resolve(host, port);
  };
  resolved r = co_await spawn_blocking(std::move(resolve_on_pool));
  if (r.gai_error == EAI_SYSTEM) throw std::system_error(r.sys_error, std::system_category(), what);
  if (r.gai_error != 0) throw std::system_error(r.gai_error, resolve_category(), what);
  co_return std::move(r.addrs);
}

}  // namespace kyoto::net
