// The stall detector (runtime::builder::stall_threshold; Seastar's
// reactor-stall report): a task that runs past the threshold without
// yielding is reported once, through kyoto's logger, with its id, name and
// spawn location. Captures the "kyoto" logger's output with a spdlog sink
// (an internal test: the logger is private to the library).
#include "errors.hpp"
#include "log.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// Captures kyoto's warnings for a scope (no runtime may log meanwhile
/// from before the scope: each test builds its runtime inside it).
class captured_log {
 public:
  captured_log() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)) {
    spdlog::logger& l = kyoto::detail::logger();
    saved_level_ = l.level();
    l.sinks().push_back(sink_);
    l.set_level(spdlog::level::warn);
  }
  ~captured_log() {
    spdlog::logger& l = kyoto::detail::logger();
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

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  spdlog::level::level_enum saved_level_;
};

/// Computes for `d` without yielding.
void spin_for(std::chrono::steady_clock::duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
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

TEST(Stall, TaskThatYieldsIsNotReported) {
  const captured_log log;
  {
    kyoto::runtime rt = multi_thread(100ms);
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

}  // namespace
