// The stall detector (runtime::builder::stall_threshold; Seastar's
// reactor-stall report): a task that runs past the threshold without
// yielding is reported once, through kyoto's logger, with its id, name and
// spawn location; by the multi_thread runtime's watchdog and by the
// current_thread runtime's stall monitor. Captures the "kyoto" logger's
// output with spdlog sinks (an internal test: the logger is private to the
// library).
#include "errors.hpp"
#include "log.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// Counts the stall reports as they are logged: what a test that waits for
/// a report waits on.
class stall_counter final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::size_t count() const noexcept {
    // Acquire: pairs with the release increment in sink_it_(); the report
    // is then in the ring buffer sink too (it comes first).
    return count_.load(std::memory_order_acquire);
  }

 private:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    // Release: pairs with the acquire load in count().
    if (text.find("stall") != std::string_view::npos)
      count_.fetch_add(1, std::memory_order_release);
  }
  void flush_() override {}

  std::atomic<std::size_t> count_{0};
};

/// Captures kyoto's warnings for a scope (no runtime may log meanwhile
/// from before the scope: each test builds its runtime inside it).
class captured_log {
 public:
  captured_log()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)),
        counter_(std::make_shared<stall_counter>()) {
    spdlog::logger& l = kyoto::detail::logger();
    saved_level_ = l.level();
    l.sinks().push_back(sink_);
    l.sinks().push_back(counter_);
    l.set_level(spdlog::level::warn);
  }
  ~captured_log() {
    spdlog::logger& l = kyoto::detail::logger();
    l.sinks().pop_back();
    l.sinks().pop_back();
    l.set_level(saved_level_);
  }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;

  /// The captured lines that mention a stall.
  std::vector<std::string> stalls() const {
    std::vector<std::string> all = sink_->last_formatted();
    std::erase_if(all, [](const std::string& s) { return s.find("stall") == std::string::npos; });
    return all;
  }

  /// How many stall reports were logged so far; any thread.
  std::size_t stall_count() const noexcept { return counter_->count(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<stall_counter> counter_;
  spdlog::level::level_enum saved_level_;
};

/// Computes for `d` without yielding.
void spin_for(std::chrono::steady_clock::duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

/// Computes without yielding for at least `at_least` and until `log` has
/// `reports` stall reports: the report is the event a stalling task waits
/// for, however late the monitor thread gets a CPU. Gives up after 30 s
/// (the test then fails on the missing report).
void spin_until_reported(const captured_log& log, std::size_t reports,
                         std::chrono::steady_clock::duration at_least) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const auto ran = std::chrono::steady_clock::now() - start;
    if (ran >= 30s || (ran >= at_least && log.stall_count() >= reports)) return;
  }
}

/// The threads of this process named `name` (/proc/self/task/*/comm).
std::size_t threads_named(std::string_view name) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(e.path() / "comm");
    std::string s;
    if (std::getline(comm, s) && s == name) ++n;
  }
  return n;
}

/// Waits (polling /proc, up to 10 s) until no thread is named `name`: a
/// joined thread leaves /proc/self/task a moment after its join returns.
bool no_thread_named(std::string_view name) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (threads_named(name) != 0) {
    if (std::chrono::steady_clock::now() > until) return false;
  }
  return true;
}

kyoto::runtime current_thread(std::chrono::milliseconds threshold) {
  return kyoto::runtime::builder::current_thread().stall_threshold(threshold).build();
}

kyoto::runtime multi_thread(std::chrono::milliseconds threshold) {
  return kyoto::runtime::builder::multi_thread()
      .worker_threads(2)
      .stall_threshold(threshold)
      .build();
}

TEST(Stall, TaskSpinningPastTheThresholdIsReportedOnceWithItsIdentity) {
  const captured_log log;
  std::uint64_t id = 0;
  unsigned line = 0;
  {
    kyoto::runtime rt = multi_thread(100ms);
    rt.block_on([&]() -> kyoto::task<> {
      line = __LINE__ + 1;
      auto h = kyoto::task_builder{}.name("busy spinner").spawn([]() -> kyoto::task<std::uint64_t> {
        spin_for(300ms);
        co_return kyoto::task_id::current().value();
      });
      id = co_await h;
    }());
  }
  const std::vector<std::string> stalls = log.stalls();
  ASSERT_EQ(stalls.size(), 1u) << (stalls.empty() ? "no report" : stalls[0]);
  const std::string& r = stalls[0];
  EXPECT_NE(r.find("task " + std::to_string(id) + " "), std::string::npos) << r;
  EXPECT_NE(r.find("'busy spinner'"), std::string::npos) << r;
  EXPECT_NE(r.find("stall_test.cpp:" + std::to_string(line)), std::string::npos) << r;
  EXPECT_NE(r.find("kyoto-worker-"), std::string::npos) << r;
  EXPECT_NE(r.find("[warning]"), std::string::npos) << r;
}

TEST(Stall, UnnamedTaskIsReportedWithItsSpawnLocation) {
  const captured_log log;
  unsigned line = 0;
  {
    kyoto::runtime rt = multi_thread(50ms);
    rt.block_on([&]() -> kyoto::task<> {
      line = __LINE__ + 1;
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        spin_for(200ms);
        co_return;
      });
      co_await h;
    }());
  }
  const std::vector<std::string> stalls = log.stalls();
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_NE(stalls[0].find("stall_test.cpp:" + std::to_string(line)), std::string::npos)
      << stalls[0];
  EXPECT_EQ(stalls[0].find("''"), std::string::npos) << stalls[0];  // no empty name
}

/// Runs, on `rt`, a task that computes for 300 ms in 1 ms slices, yielding
/// between them: never a stall.
void run_a_task_that_yields(kyoto::runtime& rt) {
  rt.block_on([]() -> kyoto::task<> {
    auto h = kyoto::spawn([]() -> kyoto::task<> {
      const auto until = std::chrono::steady_clock::now() + 300ms;
      while (std::chrono::steady_clock::now() < until) {
        spin_for(1ms);
        co_await kyoto::yield_now();
      }
    });
    co_await h;
  }());
}

TEST(Stall, TaskThatYieldsIsNotReported) {
  const captured_log log;
  {
    kyoto::runtime rt = multi_thread(100ms);
    run_a_task_that_yields(rt);
  }
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, SleepingTaskIsNotReported) {
  const captured_log log;
  {
    kyoto::runtime rt = multi_thread(50ms);
    rt.block_on([]() -> kyoto::task<> {
      co_await kyoto::time::sleep(200ms);
    }());
  }
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, ZeroThresholdTurnsTheReportsOff) {
  const captured_log log;
  {
    kyoto::runtime rt = multi_thread(0ms);
    rt.block_on([]() -> kyoto::task<> {
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        spin_for(200ms);
        co_return;
      });
      co_await h;
    }());
  }
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, EachStalledPollIsReported) {
  // Two polls of the same task, each past the threshold: two reports.
  const captured_log log;
  {
    kyoto::runtime rt = multi_thread(50ms);
    rt.block_on([]() -> kyoto::task<> {
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        spin_for(150ms);
        co_await kyoto::yield_now();
        spin_for(150ms);
      });
      co_await h;
    }());
  }
  EXPECT_EQ(log.stalls().size(), 2u);
}

TEST(Stall, BlockInPlaceIsNoStall) {
  const captured_log log;
  {
    kyoto::runtime rt = multi_thread(50ms);
    rt.block_on([]() -> kyoto::task<> {
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        kyoto::block_in_place([] { spin_for(200ms); });
        co_return;
      });
      co_await h;
    }());
  }
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, NegativeThresholdIsRefused) {
  kyoto::test::expect_throws<std::invalid_argument>([] { return multi_thread(-1ms); },
                                                    "stall_threshold must not be negative");
}

// ---- current_thread: the stall monitor (current_thread/stall_monitor.hpp)

TEST(Stall, CurrentThreadTaskSpinningPastTheThresholdIsReportedOnceWithItsIdentity) {
  const captured_log log;
  std::uint64_t id = 0;
  unsigned line = 0;
  {
    kyoto::runtime rt = current_thread(100ms);
    rt.block_on([&]() -> kyoto::task<> {
      const kyoto::task_builder named = kyoto::task_builder{}.name("busy spinner");
      line = __LINE__ + 1;
      auto h = named.spawn([&]() -> kyoto::task<std::uint64_t> {
        // 150 ms at least, and on until reported (then ~4 more ticks at
        // most, in which a second report of this poll would show).
        spin_until_reported(log, 1, 150ms);
        co_return kyoto::task_id::current().value();
      });
      id = co_await h;
    }());
  }
  const std::vector<std::string> stalls = log.stalls();
  ASSERT_EQ(stalls.size(), 1u) << (stalls.empty() ? "no report" : stalls[0]);
  const std::string& r = stalls[0];
  EXPECT_NE(r.find("task " + std::to_string(id) + " "), std::string::npos) << r;
  EXPECT_NE(r.find("'busy spinner'"), std::string::npos) << r;
  EXPECT_NE(r.find("stall_test.cpp:" + std::to_string(line)), std::string::npos) << r;
  EXPECT_NE(r.find("on the current_thread runtime's thread"), std::string::npos) << r;
  EXPECT_NE(r.find("(stall threshold 100 ms)"), std::string::npos) << r;
  EXPECT_NE(r.find("[warning]"), std::string::npos) << r;
}

TEST(Stall, CurrentThreadBlockOnFutureStallIsReported) {
  const captured_log log;
  std::uint64_t id = 0;
  {
    kyoto::runtime rt = current_thread(50ms);
    id = rt.block_on([&]() -> kyoto::task<std::uint64_t> {
      spin_until_reported(log, 1, 0ms);
      co_return kyoto::task_id::current().value();
    }());
  }
  const std::vector<std::string> stalls = log.stalls();
  ASSERT_EQ(stalls.size(), 1u) << (stalls.empty() ? "no report" : stalls[0]);
  EXPECT_NE(stalls[0].find("task " + std::to_string(id) + " "), std::string::npos) << stalls[0];
  EXPECT_NE(stalls[0].find("spawned at kyoto::runtime::block_on"), std::string::npos) << stalls[0];
}

TEST(Stall, CurrentThreadTaskThatYieldsIsNotReported) {
  const captured_log log;
  {
    kyoto::runtime rt = current_thread(50ms);
    run_a_task_that_yields(rt);
  }
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, CurrentThreadEachStalledPollIsReported) {
  const captured_log log;
  {
    kyoto::runtime rt = current_thread(50ms);
    rt.block_on([&]() -> kyoto::task<> {
      auto h = kyoto::spawn([&]() -> kyoto::task<> {
        spin_until_reported(log, 1, 100ms);
        co_await kyoto::yield_now();
        spin_until_reported(log, 2, 100ms);
      });
      co_await h;
    }());
  }
  EXPECT_EQ(log.stalls().size(), 2u);
}

TEST(Stall, CurrentThreadZeroThresholdReportsNothingAndStartsNoThread) {
  const captured_log log;
  std::size_t monitors = 1;
  {
    kyoto::runtime rt = current_thread(0ms);
    rt.block_on([&]() -> kyoto::task<> {
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        spin_for(200ms);
        co_return;
      });
      co_await h;
      monitors = threads_named("kyoto-stall");
    }());
  }
  EXPECT_EQ(monitors, 0u);
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, CurrentThreadMonitorRunsFromTheFirstBlockOnToTheShutdown) {
  ASSERT_TRUE(no_thread_named("kyoto-stall"));  // none left by another test
  std::size_t built = 1, driving = 0, between = 0;
  {
    kyoto::runtime rt = current_thread(100ms);
    built = threads_named("kyoto-stall");
    rt.block_on([&]() -> kyoto::task<> {
      driving = threads_named("kyoto-stall");
      co_return;
    }());
    between = threads_named("kyoto-stall");
    rt.block_on([]() -> kyoto::task<> {
      co_return;
    }());  // the same thread again
    EXPECT_EQ(threads_named("kyoto-stall"), 1u);
  }
  EXPECT_EQ(built, 0u);
  EXPECT_EQ(driving, 1u);
  EXPECT_EQ(between, 1u);
  EXPECT_TRUE(no_thread_named("kyoto-stall"));
}

TEST(Stall, CurrentThreadShutdownDoesNotWaitForTheMonitorsTick) {
  // A 60 s threshold: the monitor ticks every 6 s. Right after a block_on
  // it is in that wait; the shutdown wakes it instead of waiting it out.
  kyoto::runtime rt = current_thread(60s);
  rt.block_on([]() -> kyoto::task<> {
    co_return;
  }());
  const auto start = std::chrono::steady_clock::now();
  {
    const kyoto::runtime dropped = std::move(rt);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(Stall, CurrentThreadPausedTimeIsNoStall) {
  // Auto-advance moves the paused clock by hours between polls: the
  // threshold is real time, and no poll is long.
  const captured_log log;
  {
    kyoto::runtime rt =
        kyoto::runtime::builder::current_thread().start_paused(true).stall_threshold(50ms).build();
    rt.block_on([]() -> kyoto::task<> {
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        for (int i = 0; i < 100; ++i)
          co_await kyoto::time::sleep(1h);
      });
      for (int i = 0; i < 100; ++i)
        co_await kyoto::time::sleep(30min);
      co_await h;
    }());
  }
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, DeterministicRuntimeHasNoStallMonitor) {
  // Its runs must not depend on another thread: the threshold is ignored.
  const captured_log log;
  std::size_t monitors = 1;
  {
    kyoto::runtime rt = kyoto::runtime::builder::deterministic(7).stall_threshold(50ms).build();
    rt.block_on([&]() -> kyoto::task<> {
      auto h = kyoto::spawn([]() -> kyoto::task<> {
        spin_for(150ms);
        co_return;
      });
      co_await h;
      monitors = threads_named("kyoto-stall");
    }());
  }
  EXPECT_EQ(monitors, 0u);
  EXPECT_TRUE(log.stalls().empty()) << log.stalls()[0];
}

TEST(Stall, CurrentThreadNegativeThresholdIsRefused) {
  kyoto::test::expect_throws<std::invalid_argument>([] { return current_thread(-1ms); },
                                                    "stall_threshold must not be negative");
}

}  // namespace
