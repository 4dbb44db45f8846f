// kyoto::net::lookup_host: a port of tokio's tests/net_lookup_host.rs
// (tokio 1.24), then names that do not resolve, text without a port, and a
// lookup abandoned by select.
#include "errors.hpp"
#include "flavours.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net/lookup_host.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <stdexcept>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace oneshot = kyoto::sync::oneshot;

namespace {

using kyoto::net::lookup_host;
using kyoto::net::socket_addr;

// tokio net_lookup_host.rs: lookup_socket_addr / lookup_str_socket_addr
KYOTO_TEST(LookupHost, ANumericAddressIsReturnedAsItIs) {
  const std::vector<socket_addr> v4 = co_await lookup_host("127.0.0.1:8000");
  EXPECT_EQ(v4, std::vector<socket_addr>{socket_addr::parse("127.0.0.1:8000")});
  const std::vector<socket_addr> v6 = co_await lookup_host("[::1]:8000");
  EXPECT_EQ(v6, std::vector<socket_addr>{socket_addr::localhost_v6(8000)});
  const std::vector<socket_addr> scoped = co_await lookup_host("[fe80::1%2]:1");
  EXPECT_EQ(scoped, std::vector<socket_addr>{socket_addr::parse("[fe80::1%2]:1")});
}

// tokio net_lookup_host.rs: resolve_dns, on every runtime flavour (the
// lookup runs on the blocking pool).
class LookupHostFlavours : public ::testing::TestWithParam<kyoto::test::flavour> {};

TEST_P(LookupHostFlavours, ResolvesLocalhost) {
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([]() -> kyoto::task<> {
    const std::vector<socket_addr> hosts = co_await lookup_host("localhost:3000");
    KYOTO_ASSERT_FALSE(hosts.empty());
    const socket_addr expected =
        hosts.front().is_ipv4() ? socket_addr::localhost_v4(3000) : socket_addr::localhost_v6(3000);
    EXPECT_EQ(hosts.front(), expected);
    for (const socket_addr& a : hosts) {
      EXPECT_TRUE(a.is_loopback()) << a;
      EXPECT_EQ(a.port(), 3000) << a;
    }
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(LookupHostFlavours);

KYOTO_TEST(LookupHost, AnUnresolvableNameIsASystemErrorNamingIt) {
  // .invalid is reserved (RFC 2606): it never resolves.
  if (const auto e = co_await kyoto::test::expect_throws_async<std::system_error>(
          [] { return lookup_host("no-such-host.invalid:80"); }, "kyoto::net::lookup_host")) {
    const std::string what = e->what();
    EXPECT_NE(what.find("no-such-host.invalid"), std::string::npos) << what;
    EXPECT_TRUE(e->code().category() == kyoto::net::resolve_category() ||
                e->code().category() == std::system_category())
        << e->code().category().name();
  }
}

KYOTO_TEST(LookupHost, TextWithoutAUsablePortIsInvalidArgument) {
  for (const char* text :
       {"localhost", "localhost:", "localhost:http", "localhost:65536", "localhost:-1", ""}) {
    co_await kyoto::test::expect_throws_async<std::invalid_argument>(
        [&] { return lookup_host(text); }, std::string("\"").append(text).append("\""));
  }
}

KYOTO_TEST(LookupHost, ResolveCategoryNamesItself) {
  EXPECT_STREQ(kyoto::net::resolve_category().name(), "kyoto.resolve");
  co_return;
}

// Cancel safety: a lookup that loses a select is abandoned (it finishes on
// the blocking pool); a later lookup still works.
KYOTO_TEST(LookupHost, AnAbandonedLookupDoesNotDisturbTheNext) {
  auto [tx, rx] = oneshot::channel<int>();
  EXPECT_TRUE(tx.send(1).has_value());
  // The lookup starts (it waits for the pool), then the ready oneshot
  // wins, unless the pool answered first (a slow, sanitized run): both are
  // fine, neither may disturb what follows.
  auto v = co_await kyoto::select_biased(lookup_host("localhost:1"), std::move(rx));
  if (v.index() == 0) {
    EXPECT_FALSE(std::get<0>(v).empty());
  }
  const std::vector<socket_addr> hosts = co_await lookup_host("localhost:2");
  EXPECT_FALSE(hosts.empty());
}

}  // namespace
