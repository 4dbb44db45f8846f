// runtime::builder::dump_on_signal and KYOTO_DUMP_SIGNAL: a task dump on
// stderr when the process receives the signal. Its own executable: the
// handler stays installed for the rest of the process.
#include "dump/dump_signal.hpp"

#include "errors.hpp"

#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

TEST(DumpSignal, TheSignalPrintsADumpOfTheParkedTasksToStderr) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<int>(1);
  kyoto::runtime rt =
      kyoto::runtime::builder::multi_thread().worker_threads(2).dump_on_signal(SIGUSR1).build();
  kyoto::join_handle<void> h = rt.spawn([&]() -> kyoto::task<> { (void)co_await rx.recv(); });
  // Park it: a dump from this thread lists it idle once it has suspended.
  for (;;) {
    const kyoto::runtime_dump d = rt.dump();
    const kyoto::task_dump* t = d.find(h.id());
    if (t != nullptr && t->state == kyoto::task_state::idle) break;
    std::this_thread::yield();
  }
  const std::uint64_t before = kyoto::detail::signal_dumps_printed();
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(std::raise(SIGUSR1), 0);
  kyoto::detail::wait_signal_dumps_printed(before);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("kyoto task dump"), std::string::npos) << err;
  EXPECT_NE(err.find("task " + std::to_string(h.id().value()) + " idle"), std::string::npos) << err;
  EXPECT_NE(err.find("waiting on mpsc recv"), std::string::npos) << err;
  tx.try_send(1).value();
  rt.block_on(std::move(h));
}

TEST(DumpSignal, SignalNamesAndNumbersParse) {
  EXPECT_EQ(kyoto::detail::parse_dump_signal("SIGQUIT"), SIGQUIT);
  EXPECT_EQ(kyoto::detail::parse_dump_signal("QUIT"), SIGQUIT);
  EXPECT_EQ(kyoto::detail::parse_dump_signal("SIGUSR2"), SIGUSR2);
  EXPECT_EQ(kyoto::detail::parse_dump_signal("10"), 10);
  for (const char* bad : {"SIGNOPE", "", "3x", "0"}) {
    kyoto::test::expect_throws<std::invalid_argument>(
        [&] { return kyoto::detail::parse_dump_signal(bad); }, "KYOTO_DUMP_SIGNAL");
  }
}

TEST(DumpSignal, BuildRefusesASignalItCannotHandle) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return kyoto::runtime::builder::current_thread().dump_on_signal(SIGKILL).build(); },
      "kyoto::runtime::builder::dump_on_signal: signal 9 cannot be handled");
}

}  // namespace
