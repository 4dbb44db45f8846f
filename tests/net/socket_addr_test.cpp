// kyoto::net::socket_addr: parsing IPv4 and IPv6 socket addresses (scopes
// included), rejecting what is not one (std::invalid_argument naming the
// text), printing, and round trips through to_string().
#include "errors.hpp"

#include <kyoto/net/socket_addr.hpp>

#include <gtest/gtest.h>

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using kyoto::net::socket_addr;

TEST(SocketAddr, ParsesIpv4) {
  const socket_addr a = socket_addr::parse("127.0.0.1:8080");
  EXPECT_TRUE(a.is_ipv4());
  EXPECT_FALSE(a.is_ipv6());
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.ip(), "127.0.0.1");
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(a.native_size(), sizeof(sockaddr_in));
  EXPECT_TRUE(a.is_loopback());
  EXPECT_EQ(socket_addr::parse("0.0.0.0:0").to_string(), "0.0.0.0:0");
  EXPECT_EQ(socket_addr::parse("255.255.255.255:65535").port(), 65535);
}

TEST(SocketAddr, ParsesIpv6InBrackets) {
  const socket_addr a = socket_addr::parse("[::1]:443");
  EXPECT_TRUE(a.is_ipv6());
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.port(), 443);
  EXPECT_EQ(a.ip(), "::1");
  EXPECT_EQ(a.to_string(), "[::1]:443");
  EXPECT_EQ(a.native_size(), sizeof(sockaddr_in6));
  EXPECT_TRUE(a.is_loopback());
  const socket_addr b = socket_addr::parse("[2001:DB8:0:0::1]:80");
  EXPECT_EQ(b.to_string(), "[2001:db8::1]:80") << "printed in canonical form";
  EXPECT_FALSE(b.is_loopback());
  EXPECT_EQ(socket_addr::parse("[::ffff:10.1.2.3]:7").to_string(), "[::ffff:10.1.2.3]:7");
}

TEST(SocketAddr, ParsesAnIpv6ScopeByNumberOrInterfaceName) {
  const socket_addr numeric = socket_addr::parse("[fe80::1%7]:80");
  EXPECT_EQ(numeric.ip(), "fe80::1%7");
  EXPECT_EQ(numeric.to_string(), "[fe80::1%7]:80");
  EXPECT_FALSE(numeric == socket_addr::parse("[fe80::1%8]:80")) << "the scope is compared";
  EXPECT_FALSE(numeric == socket_addr::parse("[fe80::1]:80"));
  const unsigned lo = ::if_nametoindex("lo");
  if (lo == 0) GTEST_SKIP() << "no loopback interface named lo";
  const socket_addr named = socket_addr::parse("[fe80::1%lo]:80");
  EXPECT_EQ(named.to_string(), "[fe80::1%" + std::to_string(lo) + "]:80");
}

TEST(SocketAddr, ToStringRoundTrips) {
  for (const char* text :
       {"127.0.0.1:1", "10.20.30.40:65535", "0.0.0.0:0", "[::]:0", "[::1]:8080",
        "[2001:db8::8:800:200c:417a]:9", "[fe80::1%3]:22", "[::ffff:192.0.2.1]:80"}) {
    const socket_addr a = socket_addr::parse(text);
    EXPECT_EQ(a.to_string(), text);
    EXPECT_EQ(socket_addr::parse(a.to_string()), a) << text;
    std::ostringstream os;
    os << a;
    EXPECT_EQ(os.str(), text);
  }
}

TEST(SocketAddr, RejectsWhatIsNotASocketAddressNamingTheText) {
  for (std::string_view text : {
           "",                       // nothing
           "127.0.0.1",              // no port
           "127.0.0.1:",             // empty port
           "127.0.0.1:65536",        // port too large
           "127.0.0.1:-1",           // negative port
           "127.0.0.1:+80",          // sign
           "127.0.0.1:80x",          // trailing text
           "127.0.0.1:100000",       // six digits
           "127.0.0.1: 80",          // space
           " 127.0.0.1:80",          // leading space
           "256.0.0.1:80",           // octet too large
           "1.2.3:80",               // three octets
           "1.2.3.4.5:80",           // five octets
           "localhost:80",           // a name, not an address
           "::1:80",                 // IPv6 without brackets
           "[::1]",                  // IPv6 without a port
           "[::1]:",                 // empty port
           "[::1]80",                // no colon after the bracket
           "[::1:80",                // no closing bracket
           "[]:80",                  // empty brackets
           "[1.2.3.4]:80",           // IPv4 in brackets
           "[::1::2]:80",            // two ::
           "[fe80::1%]:80",          // empty scope
           "[fe80::1%nosuchif0]:80"  // unknown interface
       }) {
    kyoto::test::expect_throws<std::invalid_argument>([&] { (void)socket_addr::parse(text); },
                                                      std::string("\"").append(text).append("\""));
    EXPECT_FALSE(socket_addr::try_parse(text).has_value()) << text;
  }
}

TEST(SocketAddr, FromIpTakesAnAddressWithoutAPort) {
  EXPECT_EQ(socket_addr::from_ip("10.0.0.1", 5).to_string(), "10.0.0.1:5");
  EXPECT_EQ(socket_addr::from_ip("::1", 6).to_string(), "[::1]:6");
  EXPECT_EQ(socket_addr::from_ip("fe80::2%4", 7).to_string(), "[fe80::2%4]:7");
  for (std::string_view ip : {"", "x", "10.0.0.1:5", "[::1]", "300.1.1.1"}) {
    kyoto::test::expect_throws<std::invalid_argument>([&] { (void)socket_addr::from_ip(ip, 1); },
                                                      std::string("\"").append(ip).append("\""));
  }
}

TEST(SocketAddr, LoopbacksPortsAndEquality) {
  EXPECT_EQ(socket_addr().to_string(), "0.0.0.0:0");
  EXPECT_EQ(socket_addr::localhost_v4(80).to_string(), "127.0.0.1:80");
  EXPECT_EQ(socket_addr::localhost_v6(80).to_string(), "[::1]:80");
  EXPECT_TRUE(socket_addr::parse("127.2.3.4:1").is_loopback());
  EXPECT_FALSE(socket_addr::parse("10.0.0.1:1").is_loopback());
  EXPECT_FALSE(socket_addr::parse("[::2]:1").is_loopback());
  socket_addr a = socket_addr::localhost_v4(1);
  a.set_port(2);
  EXPECT_EQ(a, socket_addr::localhost_v4(2));
  socket_addr b = socket_addr::localhost_v6(1);
  b.set_port(3);
  EXPECT_EQ(b.port(), 3);
  EXPECT_FALSE(socket_addr::localhost_v4(1) == socket_addr::localhost_v4(2));
  EXPECT_FALSE(socket_addr::localhost_v4(1) == socket_addr::localhost_v6(1));
  EXPECT_FALSE(socket_addr::parse("10.0.0.1:1") == socket_addr::parse("10.0.0.2:1"));
}

TEST(SocketAddr, FromAKernelSockaddr) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(99);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(socket_addr(reinterpret_cast<const sockaddr*>(&v4), sizeof v4),
            socket_addr::localhost_v4(99));
  EXPECT_THROW(socket_addr(reinterpret_cast<const sockaddr*>(&v4), sizeof v4 - 1),
               std::invalid_argument)
      << "too short for its family";
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_THROW(socket_addr(reinterpret_cast<const sockaddr*>(&un), sizeof un),
               std::invalid_argument);
}

}  // namespace
