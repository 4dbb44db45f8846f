// runtime::builder::metrics_endpoint: the runtime serves its metrics'
// Prometheus text over a Unix socket, one HTTP/1.0 scrape per connection,
// from a thread of its own (samples/kyoto_top reads it).
#include "errors.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace {

/// A socket path of this test process's own.
std::string socket_path(const char* name) {
  return std::string("/tmp/kyoto_endpoint_test.") + std::to_string(::getpid()) + "." + name +
         ".sock";
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

/// One scrape with blocking sockets, as a client outside the program: the
/// whole response.
std::string scrape(const std::string& path, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::string("connect failed: ") + std::string(std::strerror(errno));
  }
  (void)!::write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

TEST(MetricsEndpoint, ServesThePrometheusTextOverHttp) {
  const std::string path = socket_path("serve");
  auto rt = kyoto::runtime::builder::current_thread().metrics_endpoint(path).build();
  rt.block_on(kyoto::yield_now());
  const std::string response = scrape(path, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(response.find("\r\n\r\n# HELP kyoto_workers "), std::string::npos) << response;
  EXPECT_NE(response.find("\nkyoto_workers 1\n"), std::string::npos) << response;
  // Each connection is a fresh snapshot.
  EXPECT_NE(scrape(path, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").find("kyoto_alive_tasks"),
            std::string::npos);
}

/// GET /tasks answers with the task dump as JSON: a parked task is listed
/// with its name, state and the line it waits at.
TEST(MetricsEndpoint, ServesTheTaskDumpAtTasks) {
  const std::string path = socket_path("tasks");
  auto rt =
      kyoto::runtime::builder::multi_thread().worker_threads(1).metrics_endpoint(path).build();
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  std::atomic<bool> parked{false};
  const unsigned line = __LINE__ + 5;
  kyoto::join_handle<void> h = rt.block_on([&]() -> kyoto::task<kyoto::join_handle<void>> {
    co_return kyoto::task_builder{}.name("parked").spawn(
        [&, r = std::move(rx)]() mutable -> kyoto::task<> {
          parked.store(true);
          (void)co_await r;
        });
  }());
  std::string response;
  // The task goes idle just after it says so: ask until the dump shows it.
  for (int i = 0; i < 1000; ++i) {
    if (parked.load()) {
      response = scrape(path, "GET /tasks HTTP/1.0\r\n\r\n");
      if (response.find(R"("state":"idle")") != std::string::npos) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: application/json\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("\r\n\r\n{\"tasks\":["), std::string::npos) << response;
  EXPECT_NE(response.find(R"("name":"parked")"), std::string::npos) << response;
  EXPECT_NE(response.find(R"("line":)" + std::to_string(line)), std::string::npos) << response;
  // Any other path is still the metrics.
  EXPECT_NE(scrape(path, "GET /tasksx HTTP/1.0\r\n\r\n").find("# HELP kyoto_workers"),
            std::string::npos);
  tx.send(1).value();
  rt.block_on(std::move(h));
}

TEST(MetricsEndpoint, AnswersAClientThatSendsNoRequest) {
  const std::string path = socket_path("silent");
  auto rt =
      kyoto::runtime::builder::multi_thread().worker_threads(1).metrics_endpoint(path).build();
  // The request is optional: a client that half-closes gets the text.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ::shutdown(fd, SHUT_WR);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_NE(response.find("kyoto_worker_polls_total{worker=\"0\"}"), std::string::npos);
}

TEST(MetricsEndpoint, RemovesTheSocketFileWithTheRuntime) {
  const std::string path = socket_path("remove");
  {
    auto rt = kyoto::runtime::builder::current_thread().metrics_endpoint(path).build();
    EXPECT_TRUE(exists(path));
  }
  EXPECT_FALSE(exists(path));
}

TEST(MetricsEndpoint, ReplacesAStaleSocketFile) {
  const std::string path = socket_path("stale");
  {
    // A socket file that nobody listens on any more.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  ASSERT_TRUE(exists(path));
  auto rt = kyoto::runtime::builder::current_thread().metrics_endpoint(path).build();
  EXPECT_NE(scrape(path, "GET /metrics HTTP/1.0\r\n\r\n").find("200 OK"), std::string::npos);
}

TEST(MetricsEndpoint, APathInUseThrowsNamingTheOperation) {
  const std::string path = socket_path("busy");
  auto first = kyoto::runtime::builder::current_thread().metrics_endpoint(path).build();
  kyoto::test::expect_throws<std::system_error>(
      [&] { return kyoto::runtime::builder::current_thread().metrics_endpoint(path).build(); },
      std::string("kyoto::runtime::builder::metrics_endpoint: ") + path +
          " is in use by another listener");
  // The first endpoint still serves.
  EXPECT_NE(scrape(path, "GET /metrics HTTP/1.0\r\n\r\n").find("200 OK"), std::string::npos);
}

TEST(MetricsEndpoint, ABadPathThrowsNamingTheOperation) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return kyoto::runtime::builder::current_thread().metrics_endpoint("").build(); },
      "kyoto::runtime::builder::metrics_endpoint: the socket path must be 1 to 107 bytes, not 0");
  kyoto::test::expect_throws<std::invalid_argument>(
      [] {
        return kyoto::runtime::builder::current_thread()
            .metrics_endpoint(std::string("/tmp/") + std::string(200, 'x'))
            .build();
      },
      "kyoto::runtime::builder::metrics_endpoint: the socket path must be 1 to 107 bytes, not 205");
  kyoto::test::expect_throws<std::system_error>(
      [] {
        return kyoto::runtime::builder::current_thread()
            .metrics_endpoint("/nonexistent-dir/x.sock")
            .build();
      },
      "kyoto::runtime::builder::metrics_endpoint: binding or listening on /nonexistent-dir/x.sock");
}

}  // namespace
