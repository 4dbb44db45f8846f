#include <kyoto/net/socket_addr.hpp>

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace kyoto::net {

namespace {

[[noreturn]] void bad_address(std::string_view text, const char* why) {
  throw std::invalid_argument("kyoto::net::socket_addr::parse: \"" + std::string(text) +
                              "\" is not a socket address (" + why + ")");
}

/// Parses a decimal port, or returns nullopt.
std::optional<std::uint16_t> parse_port(std::string_view s) noexcept {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

/// Fills `out` from an IP literal and a port; the error's reason, or null.
const char* fill(socket_addr& out, std::string_view ip, std::uint16_t port, bool bracketed) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (ip.empty()) return "no address";
  if (ip.size() >= sizeof buf) return "address too long";
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  if (!bracketed) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    if (::inet_pton(AF_INET, buf, &v4.sin_addr) != 1) return "invalid IPv4 address";
    out = socket_addr(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
    return nullptr;
  }
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  if (char* pct = std::strchr(buf, '%')) {
    *pct = '\0';
    const std::string_view scope(pct + 1);
    unsigned id = 0;
    const auto [end, ec] = std::from_chars(scope.data(), scope.data() + scope.size(), id);
    if (ec == std::errc() && end == scope.data() + scope.size()) {
      v6.sin6_scope_id = id;
    } else {
      v6.sin6_scope_id = ::if_nametoindex(pct + 1);
      if (v6.sin6_scope_id == 0) return "unknown IPv6 scope";
    }
  }
  if (::inet_pton(AF_INET6, buf, &v6.sin6_addr) != 1) return "invalid IPv6 address";
  out = socket_addr(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  return nullptr;
}

/// Splits "ip:port" / "[ip]:port"; the reason it cannot, or null.
const char* split(std::string_view text, std::string_view& ip, std::string_view& port,
                  bool& bracketed) {
  bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return "missing ']'";
    ip = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return "missing \":port\"";
    port = text.substr(close + 2);
    return nullptr;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return "missing \":port\"";
  ip = text.substr(0, colon);
  if (ip.find(':') != std::string_view::npos) return "an IPv6 address needs brackets";
  port = text.substr(colon + 1);
  return nullptr;
}

}  // namespace

socket_addr::socket_addr() noexcept : storage_{} {
  storage_.v4.sin_family = AF_INET;
}

socket_addr::socket_addr(const sockaddr* sa, socklen_t len) : storage_{} {
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&storage_.v4, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&storage_.v6, sa, sizeof(sockaddr_in6));
  } else {
    throw std::invalid_argument(
        "kyoto::net::socket_addr: the address is neither IPv4 nor IPv6 (family " +
        std::to_string(sa->sa_family) + ")");
  }
}

std::optional<socket_addr> socket_addr::try_parse(std::string_view text) noexcept {
  std::string_view ip, port_text;
  bool bracketed = false;
  if (split(text, ip, port_text, bracketed) != nullptr) return std::nullopt;
  const auto port = parse_port(port_text);
  if (!port) return std::nullopt;
  socket_addr a;
  if (fill(a, ip, *port, bracketed) != nullptr) return std::nullopt;
  return a;
}

socket_addr socket_addr::parse(std::string_view text) {
  std::string_view ip, port_text;
  bool bracketed = false;
  if (const char* why = split(text, ip, port_text, bracketed)) bad_address(text, why);
  const auto port = parse_port(port_text);
  if (!port) bad_address(text, "the port is not a number from 0 to 65535");
  socket_addr a;
  if (const char* why = fill(a, ip, *port, bracketed)) bad_address(text, why);
  return a;
}

socket_addr socket_addr::from_ip(std::string_view ip, std::uint16_t port) {
  socket_addr a;
  const bool v6 = ip.find(':') != std::string_view::npos;
  if (const char* why = fill(a, ip, port, v6)) {
    throw std::invalid_argument("kyoto::net::socket_addr::from_ip: \"" + std::string(ip) +
                                "\" is not an IP address (" + why + ")");
  }
  return a;
}

socket_addr socket_addr::localhost_v4(std::uint16_t port) noexcept {
  socket_addr a;
  a.storage_.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.storage_.v4.sin_port = htons(port);
  return a;
}

socket_addr socket_addr::localhost_v6(std::uint16_t port) noexcept {
  socket_addr a;
  a.storage_.v6 = sockaddr_in6{};
  a.storage_.v6.sin6_family = AF_INET6;
  a.storage_.v6.sin6_addr = in6addr_loopback;
  a.storage_.v6.sin6_port = htons(port);
  return a;
}

bool socket_addr::is_loopback() const noexcept {
  if (is_ipv4()) return (ntohl(storage_.v4.sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&storage_.v6.sin6_addr);
}

std::uint16_t socket_addr::port() const noexcept {
  return ntohs(is_ipv4() ? storage_.v4.sin_port : storage_.v6.sin6_port);
}

void socket_addr::set_port(std::uint16_t port) noexcept {
  if (is_ipv4()) {
    storage_.v4.sin_port = htons(port);
  } else {
    storage_.v6.sin6_port = htons(port);
  }
}

std::string socket_addr::ip() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_ipv4()) {
    ::inet_ntop(AF_INET, &storage_.v4.sin_addr, buf, sizeof buf);
    return buf;
  }
  ::inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buf, sizeof buf);
  std::string s = buf;
  if (storage_.v6.sin6_scope_id != 0) {
    s += '%';
    s += std::to_string(storage_.v6.sin6_scope_id);
  }
  return s;
}

std::string socket_addr::to_string() const {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about
  // chained operator+ on strings.
  std::string s;
  if (is_ipv6()) s += '[';
  s += ip();
  if (is_ipv6()) s += ']';
  s += ':';
  s += std::to_string(port());
  return s;
}

bool operator==(const socket_addr& a, const socket_addr& b) noexcept {
  if (a.family() != b.family()) return false;
  if (a.is_ipv4()) {
    return a.storage_.v4.sin_port == b.storage_.v4.sin_port &&
           a.storage_.v4.sin_addr.s_addr == b.storage_.v4.sin_addr.s_addr;
  }
  return a.storage_.v6.sin6_port == b.storage_.v6.sin6_port &&
         std::memcmp(&a.storage_.v6.sin6_addr, &b.storage_.v6.sin6_addr, 16) == 0 &&
         a.storage_.v6.sin6_scope_id == b.storage_.v6.sin6_scope_id;
}

std::ostream& operator<<(std::ostream& os, const socket_addr& a) {
  return os << a.to_string();
}

}  // namespace kyoto::net
