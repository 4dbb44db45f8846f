// runtime::dump() / handle::dump(): every live task with its state and, for
// a suspended task, the await chain from its root coroutine to the
// innermost awaiter, each frame naming its co_await's line and what it
// waits on (tokio's unstable Handle::dump(), tokio/tests/dump.rs).
#include "flavours.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

class Dump : public ::testing::TestWithParam<kyoto::test::flavour> {};

/// A minimal JSON syntax checker (RFC 8259 grammar, no number ranges):
/// true if `s` is exactly one well-formed value.
class json_checker {
 public:
  explicit json_checker(std::string_view s) : s_(s) {}
  bool valid() {
    ws();
    if (!value()) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  bool value() {
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }
  bool object() {
    ++i_;
    ws();
    if (peek('}')) return ++i_, true;
    for (;;) {
      ws();
      if (!string()) return false;
      ws();
      if (!peek(':')) return false;
      ++i_;
      ws();
      if (!value()) return false;
      ws();
      if (peek('}')) return ++i_, true;
      if (!peek(',')) return false;
      ++i_;
    }
  }
  bool array() {
    ++i_;
    ws();
    if (peek(']')) return ++i_, true;
    for (;;) {
      ws();
      if (!value()) return false;
      ws();
      if (peek(']')) return ++i_, true;
      if (!peek(',')) return false;
      ++i_;
    }
  }
  bool string() {
    if (!peek('"')) return false;
    for (++i_; i_ < s_.size(); ++i_) {
      const char c = s_[i_];
      if (c == '"') return ++i_, true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        const char e = s_[i_];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (++i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) {
              return false;
            }
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    const std::size_t start = i_;
    if (peek('-')) ++i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' ||
                              s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
    }
    return i_ > start && std::isdigit(static_cast<unsigned char>(s_[i_ - 1]));
  }
  bool literal(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void ws() {
    while (i_ < s_.size() && std::string_view(" \t\r\n").find(s_[i_]) != std::string_view::npos)
      ++i_;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

TEST(DumpJson, CheckerRejectsMalformedJson) {
  EXPECT_TRUE(json_checker(R"({"a":[1,-2.5e3,"x\n",true,null,{}]})").valid());
  EXPECT_FALSE(json_checker(R"({"a":[1,]})").valid());
  EXPECT_FALSE(json_checker(R"({"a" 1})").valid());
  EXPECT_FALSE(json_checker("\"tab\there\"").valid());
  EXPECT_FALSE(json_checker(R"({"a":1})"
                            "}")
                   .valid());
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

/// Yields until `ready(dump)` holds for a dump of the current runtime;
/// fails the test after many rounds (a task that never parks).
template <class Ready>
kyoto::task<kyoto::runtime_dump> dump_when(Ready ready) {
  for (int round = 0; round < 100000; ++round) {
    kyoto::runtime_dump d = kyoto::handle::current().dump();
    if (ready(d)) co_return d;
    co_await kyoto::yield_now();
  }
  ADD_FAILURE() << "the tasks never all parked";
  co_return kyoto::handle::current().dump();
}

/// Whether every task of `ids` is listed idle.
bool all_idle(const kyoto::runtime_dump& d, const std::vector<kyoto::task_id>& ids) {
  for (kyoto::task_id id : ids) {
    const kyoto::task_dump* t = d.find(id);
    if (t == nullptr || t->state != kyoto::task_state::idle) return false;
  }
  return true;
}

/// The innermost frame of task `id`'s chain, checked to exist.
const kyoto::await_frame& innermost(const kyoto::runtime_dump& d, kyoto::task_id id) {
  const kyoto::task_dump* t = d.find(id);
  EXPECT_NE(t, nullptr) << d;
  static const kyoto::await_frame none{};
  if (t == nullptr || t->await_chain.empty()) {
    ADD_FAILURE() << "task " << id << " has no await chain\n" << d;
    return none;
  }
  return t->await_chain.back();
}

/// Computes until at least `d` has passed on the steady clock (the
/// quantity a time-in-state test measures, not a synchronisation), and
/// returns the whole milliseconds that passed: a lower bound for a
/// state_ms whose state began before the call and is read after it.
std::int64_t wait_at_least(std::chrono::milliseconds d) {
  const auto from = std::chrono::steady_clock::now();
  auto now = from;
  while (now - from < d)
    now = std::chrono::steady_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - from).count();
}

kyoto::task<> recv_one(kyoto::sync::mpsc::receiver<int>& rx, unsigned& line) {
  line = __LINE__ + 1;
  (void)co_await rx.recv();
}

kyoto::task<> yield_then_recv(kyoto::sync::mpsc::receiver<int>& rx, int yields, unsigned& line) {
  for (int i = 0; i < yields; ++i)
    co_await kyoto::yield_now();
  line = __LINE__ + 1;
  (void)co_await rx.recv();
}

// yield_now is awaited without an await point (it never leaves its task
// idle: detail/await_point.hpp, untraced_await). A task that yielded and
// then parks shows the line it parks at, never a yield's stale one.
TEST_P(Dump, ATaskThatYieldedShowsTheLineItParksAt) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  unsigned outer = 0, inner = 0;
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    auto t = kyoto::spawn([&]() -> kyoto::task<> {
      for (int i = 0; i < 3; ++i)
        co_await kyoto::yield_now();
      outer = __LINE__ + 1;
      co_await yield_then_recv(rx, 5, inner);
    });
    co_await kyoto::yield_now();
    const kyoto::runtime_dump d =
        co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, {t.id()}); });
    const kyoto::task_dump* listed = d.find(t.id());
    KYOTO_ASSERT_NE(listed, nullptr);
    KYOTO_ASSERT_EQ(listed->await_chain.size(), 2u) << d;
    EXPECT_EQ(listed->await_chain[0].location.line(), outer);
    EXPECT_EQ(listed->await_chain[1].location.line(), inner);
    EXPECT_EQ(listed->await_chain[1].waits_on, "mpsc recv");
    t.abort();
  }());
}

kyoto::task<> recv_twice(kyoto::sync::mpsc::receiver<int>& rx, unsigned& first, unsigned& second) {
  first = __LINE__ + 1;
  (void)co_await rx.recv();
  second = __LINE__ + 1;
  (void)co_await rx.recv();
}

// Each co_await has its own static record (detail/await_point.hpp: a
// closure type per call site): two awaits of the same awaiter type in one
// coroutine show their own lines.
TEST_P(Dump, EachCoAwaitOfOneCoroutineHasItsOwnLine) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  unsigned first = 0, second = 0;
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    auto t = kyoto::spawn(recv_twice(rx, first, second));
    const auto line_is = [&](const unsigned& line) {  // set once the task runs
      return [&](const kyoto::runtime_dump& x) {
        const kyoto::task_dump* listed = x.find(t.id());
        return all_idle(x, {t.id()}) && listed->await_chain.size() == 1 &&
               listed->await_chain[0].location.line() == line;
      };
    };
    kyoto::runtime_dump d = co_await dump_when(line_is(first));
    EXPECT_EQ(innermost(d, t.id()).location.line(), first) << d;
    EXPECT_EQ(innermost(d, t.id()).waits_on, "mpsc recv") << d;
    KYOTO_ASSERT_TRUE((co_await tx.send(1)).has_value());
    d = co_await dump_when(line_is(second));
    EXPECT_EQ(innermost(d, t.id()).location.line(), second) << d;
    EXPECT_EQ(innermost(d, t.id()).waits_on, "mpsc recv") << d;
    EXPECT_NE(first, second);
    t.abort();
  }());
}

kyoto::task<> recv_after_a_big_local(kyoto::sync::mpsc::receiver<int>& rx, unsigned& line) {
  std::array<unsigned char, 400'000> big{};
  big[big.size() - 1] = 1;
  line = __LINE__ + 1;
  (void)co_await rx.recv();
  EXPECT_EQ(big[big.size() - 1], 1);
}

// An awaiter maybe farther from its promise than the await word records
// (a 400 kB local): the dump still shows its line (and what it waits on
// when it is near enough).
TEST_P(Dump, ACoAwaitBehindAHugeLocalStillShowsItsLine) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  unsigned line = 0;
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    auto t = kyoto::spawn(recv_after_a_big_local(rx, line));
    const kyoto::runtime_dump d =
        co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, {t.id()}); });
    EXPECT_EQ(innermost(d, t.id()).location.line(), line) << d;
    EXPECT_FALSE(innermost(d, t.id()).waits_on.empty()) << d;
    t.abort();
  }());
}

TEST_P(Dump, ParkedTasksShowTheLineOfEachCoAwaitAndWhatItWaitsOn) {
  // Outlive the runtime: its shutdown cancels the parked tasks, whose
  // awaiters unregister from these.
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  auto [nested_tx, nested_rx] = kyoto::sync::mpsc::channel<int>(1);
  kyoto::sync::mutex<int> lock(0);
  std::optional<kyoto::sync::mutex_guard<int>> held;
  struct lines {
    unsigned recv = 0, lock = 0, sleep = 0, read = 0, join = 0, nested_outer = 0, nested_inner = 0;
  } at;
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    held.emplace(co_await lock.lock());
    auto listener = co_await kyoto::net::tcp_listener::bind("127.0.0.1:0");
    auto client = co_await kyoto::net::tcp_stream::connect(listener.local_addr());
    auto [server, peer] = co_await listener.accept();
    const int server_fd = server.native_handle();

    auto recv_task = kyoto::spawn([&]() -> kyoto::task<> {
      at.recv = __LINE__ + 1;
      (void)co_await rx.recv();
    });
    auto lock_task = kyoto::spawn([&]() -> kyoto::task<> {
      at.lock = __LINE__ + 1;
      (void)co_await lock.lock();
    });
    auto sleep_task = kyoto::spawn([&]() -> kyoto::task<> {
      at.sleep = __LINE__ + 1;
      co_await kyoto::time::sleep(1h);
    });
    auto read_task = kyoto::spawn(
        [&](kyoto::net::tcp_stream s) -> kyoto::task<> {
          std::byte buf[16];
          at.read = __LINE__ + 1;
          (void)co_await s.read(buf);
        },
        std::move(server));
    auto join_task = kyoto::spawn(
        [&](kyoto::join_handle<void> h) -> kyoto::task<> {
          at.join = __LINE__ + 1;
          co_await h;
        },
        kyoto::spawn([]() -> kyoto::task<> { co_await kyoto::time::sleep(1h); }));
    auto nested_task = kyoto::spawn([&]() -> kyoto::task<> {
      at.nested_outer = __LINE__ + 1;
      co_await recv_one(nested_rx, at.nested_inner);
    });

    const std::vector<kyoto::task_id> ids{recv_task.id(), lock_task.id(), sleep_task.id(),
                                          read_task.id(), join_task.id(), nested_task.id()};
    // Once yielded, the root task is on a live-task list too.
    co_await kyoto::yield_now();
    const kyoto::runtime_dump d =
        co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, ids); });

    const kyoto::await_frame& recv = innermost(d, recv_task.id());
    EXPECT_EQ(recv.location.line(), at.recv);
    EXPECT_TRUE(ends_with(recv.location.file_name(), "dump_test.cpp"));
    EXPECT_EQ(recv.waits_on, "mpsc recv");

    const kyoto::await_frame& locked = innermost(d, lock_task.id());
    EXPECT_EQ(locked.location.line(), at.lock);
    EXPECT_EQ(locked.waits_on, "mutex lock");

    const kyoto::await_frame& slept = innermost(d, sleep_task.id());
    EXPECT_EQ(slept.location.line(), at.sleep);
    EXPECT_EQ(slept.waits_on, "sleep");
    EXPECT_EQ(slept.detail.rfind("due in +", 0), 0u) << slept.detail;

    const kyoto::await_frame& read = innermost(d, read_task.id());
    EXPECT_EQ(read.location.line(), at.read);
    EXPECT_EQ(read.waits_on, "kyoto::net::tcp_stream::read");
    EXPECT_EQ(read.detail, "fd " + std::to_string(server_fd));

    const kyoto::await_frame& joined = innermost(d, join_task.id());
    EXPECT_EQ(joined.location.line(), at.join);
    EXPECT_EQ(joined.waits_on, "join");
    EXPECT_EQ(joined.detail.rfind("task ", 0), 0u) << joined.detail;

    // Root to innermost: the outer co_await of the child task, then the
    // child's own.
    const kyoto::task_dump* nested = d.find(nested_task.id());
    if (nested == nullptr || nested->await_chain.size() != 2) {
      ADD_FAILURE() << "the nested task's chain is not two frames\n" << d;
      co_return;
    }
    EXPECT_EQ(nested->await_chain[0].location.line(), at.nested_outer);
    EXPECT_EQ(nested->await_chain[0].waits_on, "task");
    EXPECT_EQ(nested->await_chain[1].location.line(), at.nested_inner);
    EXPECT_EQ(nested->await_chain[1].waits_on, "mpsc recv");

    // The dumping task itself is listed as running (it went idle once,
    // in the awaits above).
    const kyoto::task_dump* self = d.find(kyoto::task_id::current());
    if (self == nullptr) {
      ADD_FAILURE() << "the dumping task is not listed\n" << d;
      co_return;
    }
    EXPECT_EQ(self->state, kyoto::task_state::running);
    EXPECT_TRUE(self->await_chain.empty());

    // The text names each task and its co_await's line.
    const std::string text = d.to_text();
    EXPECT_NE(text.find("task " + std::to_string(recv_task.id().value()) + " idle"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("dump_test.cpp:" + std::to_string(at.recv)), std::string::npos) << text;
    EXPECT_NE(text.find("waiting on mpsc recv"), std::string::npos) << text;
    // Each frame names its coroutine as written (GCC's actor function
    // name, `f(f(args)::_Z...Frame*)`, is shown as `f(args)`; clang writes
    // `receiver<int> &`, GCC `receiver<int>&`).
    EXPECT_NE(text.find("recv_one(kyoto::sync::mpsc::receiver<int>"), std::string::npos) << text;
    EXPECT_EQ(text.find(".Frame*"), std::string::npos) << text;
    EXPECT_TRUE(json_checker(d.to_json()).valid()) << d.to_json();

    // A dump leaves its tasks as it found them: they still wake.
    EXPECT_TRUE(tx.try_send(1).has_value());
    co_await recv_task;
    held.reset();
    co_await lock_task;
  }());
}

TEST_P(Dump, NamedTasksShowTheirNameAndSpawnLine) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    const unsigned spawn_line = __LINE__ + 1;
    auto h = kyoto::task_builder{}.name("accept \"loop\"").spawn([&]() -> kyoto::task<> {
      (void)co_await rx.recv();
    });
    const kyoto::runtime_dump d = co_await dump_when(
        [&](const kyoto::runtime_dump& x) { return all_idle(x, std::vector{h.id()}); });
    const kyoto::task_dump* t = d.find(h.id());
    if (t == nullptr) {
      ADD_FAILURE() << d;
      co_return;
    }
    EXPECT_EQ(t->name, "accept \"loop\"");
    EXPECT_EQ(t->spawned_at.line(), spawn_line);
    const std::string json = d.to_json();
    EXPECT_TRUE(json_checker(json).valid()) << json;
    EXPECT_NE(json.find(R"("name":"accept \"loop\"")"), std::string::npos) << json;
    EXPECT_NE(d.to_text().find("\"accept \"loop\"\" idle"), std::string::npos) << d;
    tx.try_send(1).value();
    co_await h;
  }());
}

TEST_P(Dump, ADumpFromAPlainThreadSeesTheParkedTasks) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  // A multi_thread runtime runs the task without a block_on; a
  // current_thread one runs it during the block_on below.
  std::atomic<bool> parked{false};
  kyoto::join_handle<void> h = rt.spawn([&]() -> kyoto::task<> {
    parked.store(true);
    (void)co_await rx.recv();
  });
  rt.block_on([&]() -> kyoto::task<> {
    while (!parked.load())
      co_await kyoto::yield_now();
    co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, {h.id()}); });
  }());
  // Not a runtime thread: the dump reads the lists from outside.
  const kyoto::runtime_dump d = rt.dump();
  const kyoto::task_dump* t = d.find(h.id());
  ASSERT_NE(t, nullptr) << d;
  EXPECT_EQ(t->state, kyoto::task_state::idle);
  ASSERT_EQ(t->await_chain.size(), 1u);
  EXPECT_EQ(t->await_chain[0].waits_on, "mpsc recv");
  tx.try_send(1).value();
  rt.block_on(std::move(h));
}

/// A spawn_blocking function running on a blocking-pool thread is listed
/// with state blocking (and no await chain: it is not suspended).
TEST(DumpMultiThread, ASpawnBlockingFunctionIsListedAsBlocking) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(1).build();
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  kyoto::join_handle<void> h = rt.handle().spawn_blocking([&] {
    entered.store(true);
    while (!release.load())
      std::this_thread::yield();
  });
  while (!entered.load())
    std::this_thread::yield();
  // Its run began before `entered`: it has been blocking at least this long.
  const std::int64_t waited = wait_at_least(10ms);
  const kyoto::runtime_dump d = rt.dump();
  release.store(true);
  const kyoto::task_id id = h.id();
  const kyoto::task_dump* t = d.find(id);
  ASSERT_NE(t, nullptr) << d;
  EXPECT_EQ(t->state, kyoto::task_state::blocking);
  EXPECT_TRUE(t->await_chain.empty()) << d;
  EXPECT_GE(t->state_ms, waited) << d;
  EXPECT_LT(t->state_ms, 60000) << d;
  EXPECT_NE(d.to_text().find(" blocking for " + std::to_string(t->state_ms) + " ms"),
            std::string::npos)
      << d;
  EXPECT_NE(d.to_json().find(R"("state":"blocking")"), std::string::npos) << d.to_json();
  rt.block_on(std::move(h));
}

/// A task inside block_in_place holds its worker's thread in a blocking
/// call: listed as blocking, not running (and running again after).
TEST(DumpMultiThread, ATaskInBlockInPlaceIsListedAsBlocking) {
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::join_handle<void> h = rt.handle().spawn(
      [&](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<> {
        (void)co_await r;  // goes idle once: a dump lists it from then on
        kyoto::block_in_place([&] {
          entered.store(true);
          while (!release.load())
            std::this_thread::yield();
        });
      },
      std::move(rx));
  const kyoto::task_id id = h.id();
  for (;;) {
    const kyoto::runtime_dump d = rt.dump();
    const kyoto::task_dump* t = d.find(id);
    if (t != nullptr && t->state == kyoto::task_state::idle) break;
    std::this_thread::yield();
  }
  ASSERT_TRUE(tx.send(1).has_value());
  while (!entered.load())
    std::this_thread::yield();
  // block_in_place took its entry's time before `entered`.
  const std::int64_t waited = wait_at_least(10ms);
  const kyoto::runtime_dump d = rt.dump();
  release.store(true);
  rt.block_on(std::move(h));
  const kyoto::task_dump* t = d.find(id);
  ASSERT_NE(t, nullptr) << d;
  EXPECT_EQ(t->state, kyoto::task_state::blocking) << d;
  EXPECT_TRUE(t->await_chain.empty()) << d;
  EXPECT_GE(t->state_ms, waited) << d;
  EXPECT_LT(t->state_ms, 60000) << d;
  EXPECT_NE(d.to_text().find("blocking for " + std::to_string(t->state_ms) + " ms"),
            std::string::npos)
      << d;
  EXPECT_NE(d.to_json().find("\"state_ms\":" + std::to_string(t->state_ms) + ","),
            std::string::npos)
      << d.to_json();
  EXPECT_NE(d.to_json().find(R"("state":"blocking")"), std::string::npos) << d.to_json();
  const kyoto::runtime_dump after = rt.dump();
  EXPECT_EQ(after.find(id), nullptr) << after;  // ended
}

/// Many tasks passing values around and yielding, while another thread
/// dumps the runtime over and over: each dump's tasks are in a valid
/// state, idle ones have a chain, and every task still finishes (a claim
/// never loses a wake). Run under ThreadSanitizer in CI.
TEST(DumpMultiThread, DumpsUnderLoadLoseNoWake) {
  constexpr int tasks = 64;
  constexpr int rounds = 200;
  kyoto::runtime rt =
      kyoto::runtime::builder::multi_thread().worker_threads(4).enable_all().build();
  std::atomic<bool> done{false};
  std::atomic<int> dumps{0};
  std::thread dumper([&] {
    while (!done.load()) {
      const kyoto::runtime_dump d = rt.dump();
      for (const kyoto::task_dump& t : d.tasks) {
        if (t.state == kyoto::task_state::idle) {
          EXPECT_FALSE(t.await_chain.empty()) << d;
        } else {
          EXPECT_TRUE(t.await_chain.empty()) << d;
        }
      }
      EXPECT_TRUE(json_checker(d.to_json()).valid());
      dumps.fetch_add(1);
    }
  });
  rt.block_on([&]() -> kyoto::task<> {
    // A ring of tasks: each receives from the previous and sends on.
    std::vector<kyoto::sync::mpsc::sender<int>> senders;
    std::vector<kyoto::sync::mpsc::receiver<int>> receivers;
    for (int i = 0; i < tasks; ++i) {
      auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
      senders.push_back(std::move(tx));
      receivers.push_back(std::move(rx));
    }
    std::vector<kyoto::join_handle<void>> handles;
    for (int i = 0; i < tasks; ++i) {
      handles.push_back(kyoto::spawn(
          [](kyoto::sync::mpsc::receiver<int> in, kyoto::sync::mpsc::sender<int> out,
             bool first) -> kyoto::task<> {
            if (first) (void)co_await out.send(0);
            for (int r = 0; r < rounds; ++r) {
              std::optional<int> v = co_await in.recv();
              if (!v) co_return;
              co_await kyoto::yield_now();
              if (!(co_await out.send(*v + 1)).has_value()) co_return;
            }
          },
          std::move(receivers[static_cast<std::size_t>(i)]),
          senders[static_cast<std::size_t>((i + 1) % tasks)], i == 0));
    }
    senders.clear();
    // At least one dump overlaps the ring's run (the dumper does not wait).
    while (dumps.load() < 3)
      co_await kyoto::yield_now();
    for (auto& h : handles)
      co_await h;
  }());
  done.store(true);
  dumper.join();
  EXPECT_GE(dumps.load(), 3);
}

// Time in state for a task woken but unable to run: the only worker is
// busy in a task spinning on a flag the test holds. The wake comes from
// the test's thread (no runtime's: its stamp is a clock read). The queued
// task is scheduled, the spinning one running, each for at least the time
// the test measured since it knew them so, and both grow between dumps.
TEST(DumpMultiThread, AWokenTaskThatCannotRunIsScheduledForAsLongAsItWaits) {
  std::atomic<bool> spinning{false};
  std::atomic<bool> release{false};
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(1).build();
  kyoto::join_handle<void> woken =
      rt.handle().spawn([](kyoto::sync::oneshot::receiver<int> r) -> kyoto::task<> {
        (void)co_await r;
      }(std::move(rx)));
  for (;;) {  // parked once: listed from then on
    const kyoto::runtime_dump d = rt.dump();
    const kyoto::task_dump* t = d.find(woken.id());
    if (t != nullptr && t->state == kyoto::task_state::idle) break;
    std::this_thread::yield();
  }
  kyoto::join_handle<void> busy = rt.handle().spawn([&]() -> kyoto::task<> {
    co_await kyoto::time::sleep(1ms);  // parks once: listed from then on
    spinning.store(true);
    while (!release.load())
      std::this_thread::yield();
  });
  while (!spinning.load())
    std::this_thread::yield();
  ASSERT_TRUE(tx.send(1).has_value());  // queued, behind the busy worker
  const std::int64_t waited = wait_at_least(20ms);
  const kyoto::runtime_dump d1 = rt.dump();
  const std::int64_t more = wait_at_least(5ms);
  const kyoto::runtime_dump d2 = rt.dump();
  release.store(true);
  const kyoto::task_id woken_id = woken.id();
  const kyoto::task_id busy_id = busy.id();
  rt.block_on(std::move(busy));
  rt.block_on(std::move(woken));

  const kyoto::task_dump* w1 = d1.find(woken_id);
  const kyoto::task_dump* b1 = d1.find(busy_id);
  const kyoto::task_dump* w2 = d2.find(woken_id);
  const kyoto::task_dump* b2 = d2.find(busy_id);
  ASSERT_NE(w1, nullptr) << d1;
  ASSERT_NE(b1, nullptr) << d1;
  ASSERT_NE(w2, nullptr) << d2;
  ASSERT_NE(b2, nullptr) << d2;
  EXPECT_EQ(w1->state, kyoto::task_state::scheduled) << d1;
  EXPECT_EQ(b1->state, kyoto::task_state::running) << d1;
  EXPECT_EQ(w2->state, kyoto::task_state::scheduled) << d2;
  EXPECT_EQ(b2->state, kyoto::task_state::running) << d2;
  EXPECT_GE(w1->state_ms, waited) << d1;
  EXPECT_GE(b1->state_ms, waited) << d1;
  EXPECT_LT(w1->state_ms, 60000) << d1;
  EXPECT_LT(b1->state_ms, 60000) << d1;
  EXPECT_GE(w2->state_ms, w1->state_ms + more) << d1 << d2;
  EXPECT_GE(b2->state_ms, b1->state_ms + more) << d1 << d2;
  const std::string text = d1.to_text();
  EXPECT_NE(text.find("scheduled for " + std::to_string(w1->state_ms) + " ms"), std::string::npos)
      << text;
  EXPECT_NE(text.find("running for " + std::to_string(b1->state_ms) + " ms"), std::string::npos)
      << text;
  const std::string json = d1.to_json();
  EXPECT_TRUE(json_checker(json).valid()) << json;
  EXPECT_NE(json.find("\"state\":\"scheduled\",\"state_ms\":" + std::to_string(w1->state_ms)),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"state\":\"running\",\"state_ms\":" + std::to_string(b1->state_ms)),
            std::string::npos)
      << json;
}

// A wake from inside the runtime (its thread's tick): the task the
// running task wakes cannot run before that run ends (current_thread's one
// thread; a one-worker runtime's LIFO slot), so it shows scheduled for at
// least as long as the waker computed after waking it; the waker, which
// takes the dump, shows running for at least as long.
TEST_P(Dump, ATaskWokenByTheRunningTaskIsScheduledUntilThatRunEnds) {
  if (GetParam() == kyoto::test::flavour::four_workers)
    GTEST_SKIP() << "another worker would run the woken task at once";
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    auto woken = kyoto::spawn([&]() -> kyoto::task<> { (void)co_await rx; });
    co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, {woken.id()}); });
    co_await kyoto::time::sleep(1ms);  // the root parks: listed from now on
    tx.send(1).value();                // woken: queued behind this run
    const std::int64_t waited = wait_at_least(20ms);
    const kyoto::runtime_dump d = kyoto::handle::current().dump();
    const kyoto::task_dump* w = d.find(woken.id());
    const kyoto::task_dump* me = d.find(kyoto::task_id::current());
    KYOTO_ASSERT_NE(w, nullptr);
    KYOTO_ASSERT_NE(me, nullptr);
    EXPECT_EQ(w->state, kyoto::task_state::scheduled) << d;
    EXPECT_EQ(me->state, kyoto::task_state::running) << d;
    EXPECT_GE(w->state_ms, waited) << d;
    EXPECT_GE(me->state_ms, waited) << d;
    EXPECT_LT(w->state_ms, 60000) << d;
    EXPECT_LT(me->state_ms, 60000) << d;
    co_await woken;
  }());
}

kyoto::task<int> recv_in_child(kyoto::sync::oneshot::receiver<int>& rx) {
  co_await kyoto::yield_now();
  co_return (co_await rx).value();
}

// Time in state: an idle task shows how long it has been idle, from the
// tick its innermost frame stored when it suspended (a driver turn's
// resolution, so the bounds are loose). The 50 ms sleep is the quantity
// measured, not a synchronisation.
TEST_P(Dump, AnIdleTaskShowsHowLongItHasBeenIdle) {
  auto [tx1, rx1] = kyoto::sync::oneshot::channel<int>();
  auto [tx2, rx2] = kyoto::sync::oneshot::channel<int>();
  kyoto::runtime rt = kyoto::test::make_runtime(GetParam());
  rt.block_on([&]() -> kyoto::task<> {
    // No driver turn before the first park: block_on's entry refreshes the
    // thread's tick (else a task parked now would read the thread's old one).
    // Parked in a child task: the child's frame (the innermost) suspended
    // last, after its parent's co_await of it.
    auto old = kyoto::spawn([&]() -> kyoto::task<> { (void)co_await recv_in_child(rx1); });
    co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, {old.id()}); });
    co_await kyoto::time::sleep(50ms);
    auto fresh = kyoto::spawn([&]() -> kyoto::task<> { (void)co_await rx2; });
    const kyoto::runtime_dump d = co_await dump_when(
        [&](const kyoto::runtime_dump& x) { return all_idle(x, {old.id(), fresh.id()}); });
    const kyoto::task_dump* o = d.find(old.id());
    const kyoto::task_dump* f = d.find(fresh.id());
    KYOTO_ASSERT_NE(o, nullptr);
    KYOTO_ASSERT_NE(f, nullptr);
    EXPECT_EQ(o->await_chain.size(), 2u) << d;
    EXPECT_GE(o->state_ms, 40) << d;
    EXPECT_LT(o->state_ms, 60000) << d;
    EXPECT_GE(f->state_ms, 0) << d;
    EXPECT_LT(f->state_ms, 40) << d;
    EXPECT_NE(d.to_text().find("idle for " + std::to_string(o->state_ms) + " ms"),
              std::string::npos)
        << d;
    const std::string json = d.to_json();
    EXPECT_TRUE(json_checker(json).valid()) << json;
    EXPECT_NE(json.find("\"state_ms\":" + std::to_string(o->state_ms) + ","), std::string::npos)
        << json;
    tx1.send(1).value();
    tx2.send(2).value();
    co_await old;
    co_await fresh;
  }());
}

// Paused time: the tick follows the runtime's virtual clock (the driver
// reads it), and so does a dump taken on the runtime's thread.
TEST(DumpCurrentThread, TimeInStateFollowsPausedTime) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<int>();
  kyoto::runtime rt = kyoto::test::make_runtime(kyoto::test::flavour::current_thread);
  rt.block_on([&]() -> kyoto::task<> {
    kyoto::time::pause();
    auto t = kyoto::spawn([&]() -> kyoto::task<> { (void)co_await rx; });
    co_await dump_when([&](const kyoto::runtime_dump& x) { return all_idle(x, {t.id()}); });
    co_await kyoto::time::sleep(10s);  // auto-advances: the runtime is idle
    const kyoto::runtime_dump d = kyoto::handle::current().dump();
    const kyoto::task_dump* listed = d.find(t.id());
    KYOTO_ASSERT_NE(listed, nullptr);
    EXPECT_GE(listed->state_ms, 10000) << d;
    EXPECT_LT(listed->state_ms, 10100) << d;
    tx.send(1).value();
    co_await t;
  }());
}

KYOTO_INSTANTIATE_FLAVOURS(Dump);

}  // namespace
