// Issue 13, item 11: an exception escaping a detached task reaches a person
// (stderr, through kyoto's logger, by default), and
// runtime::builder::unhandled_panic(shutdown_runtime) shuts the runtime down
// (tokio's rt_common / rt_unstable unhandled_panic tests).
#include "drop_counter.hpp"
#include "errors.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

// The logger reads KYOTO_LOG once, at its first message: make sure these
// tests see the default (the runner's environment may set it).
const bool log_default = [] {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before main, single-threaded
  ::unsetenv("KYOTO_LOG");
  return true;
}();

/// Captures what is written to file descriptor 2 while it lives.
class stderr_capture {
 public:
  stderr_capture() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    file_ = std::tmpfile();
    ::dup2(::fileno(file_), 2);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;
  ~stderr_capture() {
    restore();
    std::fclose(file_);
  }

  /// Stops capturing and returns what was written.
  std::string text() {
    restore();
    std::rewind(file_);
    std::string out;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, file_))
      out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

/// Spawns a task that throws `what` and drops its handle, then waits until
/// the task has ended (its flag is set just before the throw; one more
/// yield_now lets its run end).
kyoto::task<void> detach_failing_task(std::string what) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  kyoto::spawn([ran, what]() -> kyoto::task<void> {
    ran->store(true);
    throw std::runtime_error(what);
    co_return;
  });
  while (!ran->load())
    co_await kyoto::yield_now();
  co_await kyoto::yield_now();
}

TEST(UnhandledPanic, ADetachedTasksExceptionIsPrintedToStderrByDefault) {
  ASSERT_TRUE(log_default);
  stderr_capture capture;
  {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
    rt.block_on(detach_failing_task("boom-detached-1"));
  }  // the task has ended: its exception was logged at its end
  const std::string out = capture.text();
  EXPECT_NE(out.find("boom-detached-1"), std::string::npos) << out;
  EXPECT_NE(out.find("a detached task"), std::string::npos) << out;
  // The spawn information: the spawned lambda, inside detach_failing_task.
  EXPECT_NE(out.find("spawned from"), std::string::npos) << out;
  EXPECT_NE(out.find("detach_failing_task"), std::string::npos) << out;
}

TEST(UnhandledPanic, AnExceptionDroppedWithItsHandleAfterTheEndIsPrinted) {
  stderr_capture capture;
  kyoto::runtime rt = kyoto::runtime::builder::multi_thread().worker_threads(2).build();
  rt.block_on([]() -> kyoto::task<void> {
    kyoto::join_handle<int> h = kyoto::spawn([]() -> kyoto::task<int> {
      throw std::runtime_error("boom-detached-2");
      co_return 1;
    });
    while (!h.is_finished())
      co_await kyoto::yield_now();
  }());  // the handle is dropped here, after the task ended
  const std::string out = capture.text();
  EXPECT_NE(out.find("boom-detached-2"), std::string::npos) << out;
}

TEST(UnhandledPanic, AnObservedExceptionIsNotPrinted) {
  stderr_capture capture;
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  rt.block_on([]() -> kyoto::task<void> {
    kyoto::join_handle<void> h = kyoto::spawn([]() -> kyoto::task<void> {
      throw std::runtime_error("boom-observed");
      co_return;
    });
    try {
      co_await h;
      ADD_FAILURE() << "the task's exception was not rethrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom-observed");
    }
  }());
  const std::string out = capture.text();
  EXPECT_EQ(out.find("boom-observed"), std::string::npos) << out;
}

TEST(UnhandledPanic, IgnoreKeepsTheRuntimeRunning) {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread()
                          .unhandled_panic(kyoto::unhandled_panic::ignore)
                          .build();
  {
    stderr_capture quiet;
    rt.block_on(detach_failing_task("boom-ignored"));
  }
  EXPECT_EQ(rt.block_on([]() -> kyoto::task<int> {
    co_return 7;
  }()),
            7);
}

class ShutdownRuntime : public ::testing::TestWithParam<bool> {
 protected:
  kyoto::runtime make() const {
    auto b = GetParam() ? kyoto::runtime::builder::multi_thread().worker_threads(2)
                        : kyoto::runtime::builder::current_thread();
    return b.unhandled_panic(kyoto::unhandled_panic::shutdown_runtime).build();
  }
};

TEST_P(ShutdownRuntime, ATasksExceptionCancelsBlockOnAndEveryTask) {
  kyoto::runtime rt = make();
  std::atomic<int> dropped{0};
  stderr_capture quiet;
  // A task that would run for an hour; shutdown must cancel it.
  rt.spawn([](kyoto::test::drop_counter) -> kyoto::task<void> { co_await kyoto::time::sleep(1h); },
           kyoto::test::drop_counter(dropped));
  kyoto::test::expect_throws<std::runtime_error>(
      [&] {
        rt.block_on([]() -> kyoto::task<void> {
          // The handle is kept: shutdown_runtime does not wait for a drop.
          kyoto::join_handle<void> h = kyoto::spawn([]() -> kyoto::task<void> {
            throw std::runtime_error("boom-shutdown");
            co_return;
          });
          co_await kyoto::time::sleep(1h);  // cancelled by the shutdown
        }());
      },
      "boom-shutdown");
  EXPECT_EQ(dropped.load(), 1) << "the other task was not cancelled";
  kyoto::test::expect_throws<std::logic_error>(
      [&] {
        rt.block_on([]() -> kyoto::task<int> {
          co_return 1;
        }());
      },
      "unhandled_panic::shutdown_runtime");
}

TEST_P(ShutdownRuntime, ADetachedTasksExceptionOutsideBlockOnFailsTheNextBlockOn) {
  kyoto::runtime rt = make();
  stderr_capture quiet;
  kyoto::test::expect_throws<std::runtime_error>(
      [&] {
        rt.block_on([]() -> kyoto::task<void> {
          kyoto::spawn([]() -> kyoto::task<void> {
            throw std::runtime_error("boom-detached-shutdown");
            co_return;
          });
          // Cancelled by the shutdown the detached task's exception starts
          // (waiting on a flag and one more yield raced with the other
          // worker ending the task on multi_thread).
          co_await kyoto::time::sleep(1h);
        }());
      },
      "boom-detached-shutdown");
  kyoto::test::expect_throws<std::logic_error>(
      [&] {
        rt.block_on([]() -> kyoto::task<int> {
          co_return 1;
        }());
      },
      "boom-detached-shutdown");
}

TEST_P(ShutdownRuntime, BlockOnsOwnExceptionDoesNotShutTheRuntimeDown) {
  kyoto::runtime rt = make();
  kyoto::test::expect_throws<std::runtime_error>(
      [&] {
        rt.block_on([]() -> kyoto::task<void> {
          throw std::runtime_error("root-only");
          co_return;
        }());
      },
      "root-only");
  EXPECT_EQ(rt.block_on([]() -> kyoto::task<int> {
    co_return 3;
  }()),
            3);
}

TEST_P(ShutdownRuntime, TasksSpawnedThroughTheRuntimeCount) {
  kyoto::runtime rt = make();
  stderr_capture quiet;
  // Never sent: the root waits for the shutdown.
  auto [stx, srx] = kyoto::sync::oneshot::channel<int>();
  rt.spawn([]() -> kyoto::task<void> {
    throw std::runtime_error("boom-from-outside");
    co_return;
  });
  // The task may fail before block_on (whose start then throws
  // std::logic_error) or during it (std::runtime_error): both name it.
  kyoto::test::expect_throws<std::exception>(
      [&] {
        rt.block_on([](kyoto::sync::oneshot::receiver<int> rx) -> kyoto::task<void> {
          (void)co_await std::move(rx);
        }(std::move(srx)));
      },
      "boom-from-outside");
}

INSTANTIATE_TEST_SUITE_P(Flavours, ShutdownRuntime, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("MultiThread2")
                                          : std::string("CurrentThread");
                         });

}  // namespace
