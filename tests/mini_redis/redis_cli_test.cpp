// The real redis-cli (Debian redis-tools) against a running
// mini-redis-server: GET, SET, PING, PUBLISH and SUBSCRIBE. Skipped, saying
// so, where redis-cli is not installed (scripts/test installs it).
#include "support.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/process.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using mini_redis_test::spawn_server_process;

namespace {

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / program)) return true;
  }
  return false;
}

struct cli_result {
  int code;
  std::string out;
};

// redis-cli -h HOST -p PORT ARGS...; stdout is a pipe, so replies are raw.
kyoto::task<cli_result> run_redis_cli(std::string addr, std::vector<std::string> args) {
  const auto colon = addr.rfind(':');
  std::vector<std::string> all{"-h", addr.substr(0, colon), "-p", addr.substr(colon + 1)};
  all.insert(all.end(), args.begin(), args.end());
  kyoto::process::command cmd("redis-cli");
  cmd.args(all);
  kyoto::process::output out = co_await cmd.output();
  co_return cli_result{out.status.code().value_or(-1), out.stdout + out.stderr};
}

// run_redis_cli with the arguments gathered outside the coroutine (GCC 12
// mishandles a braced list passed straight to a coroutine in co_await).
template <class... Args>
kyoto::task<cli_result> redis_cli(const std::string& addr, const Args&... args) {
  return run_redis_cli(addr, std::vector<std::string>{std::string(args)...});
}

kyoto::task<> get_set_ping_publish_subscribe() {
  mini_redis_test::server_process server = co_await spawn_server_process();
  const std::string& a = server.addr;

  auto r = co_await redis_cli(a, "PING");
  EXPECT_EQ(r.out, "PONG\n");
  r = co_await redis_cli(a, "PING", "hello world");
  EXPECT_EQ(r.out, "hello world\n");
  r = co_await redis_cli(a, "SET", "foo", "bar");
  EXPECT_EQ(r.out, "OK\n");
  r = co_await redis_cli(a, "GET", "foo");
  EXPECT_EQ(r.out, "bar\n");
  r = co_await redis_cli(a, "GET", "nosuchkey");
  EXPECT_EQ(r.out, "\n");  // nil, raw
  r = co_await redis_cli(a, "--no-raw", "GET", "nosuchkey");
  EXPECT_EQ(r.out, "(nil)\n");
  r = co_await redis_cli(a, "SET", "ttl", "v", "EX", "100");
  EXPECT_EQ(r.out, "OK\n");
  r = co_await redis_cli(a, "PUBLISH", "news", "hi");
  EXPECT_EQ(r.out, "0\n");
  r = co_await redis_cli(a, "FOO", "bar");
  EXPECT_TRUE(r.out.starts_with("ERR unknown command 'foo'\n")) << r.out;

  // SUBSCRIBE: a redis-cli child that stays subscribed; its output is
  // read line by line as the messages come.
  const auto colon = a.rfind(':');
  kyoto::process::child sub = kyoto::process::command("redis-cli")
                                  .args({"-h", a.substr(0, colon), "-p", a.substr(colon + 1),
                                         "SUBSCRIBE", "news", "weather"})
                                  .stdout(kyoto::process::stdio::piped())
                                  .kill_on_drop(true)
                                  .spawn();
  kyoto::io::buf_reader<kyoto::process::child_stdout> lines(std::move(*sub.stdout));
  sub.stdout.reset();
  auto read_lines = [&lines](int n) -> kyoto::task<std::string> {
    std::string all;
    for (int i = 0; i < n; ++i) {
      std::string line;
      if (co_await lines.read_line(line) == 0) break;
      all += line;
    }
    co_return all;
  };
  // Both confirmations arrive before any PUBLISH is sent, so the
  // subscription is in place (no sleep needed).
  EXPECT_EQ(co_await read_lines(6), "subscribe\nnews\n1\nsubscribe\nweather\n2\n");
  r = co_await redis_cli(a, "PUBLISH", "news", "hello world");
  EXPECT_EQ(r.out, "1\n");
  r = co_await redis_cli(a, "PUBLISH", "other", "x");
  EXPECT_EQ(r.out, "0\n");
  r = co_await redis_cli(a, "PUBLISH", "weather", "sunny");
  EXPECT_EQ(r.out, "1\n");
  EXPECT_EQ(co_await read_lines(6), "message\nnews\nhello world\nmessage\nweather\nsunny\n");
  co_await sub.kill();
}

}  // namespace

TEST(MiniRedisRedisCli, GetSetPingPublishSubscribe) {
  if (!on_path("redis-cli")) {
    GTEST_SKIP() << "redis-cli is not installed (Debian package redis-tools; scripts/test "
                    "installs it)";
  }
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on(get_set_ping_publish_subscribe());
}
