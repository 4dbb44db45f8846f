// kyoto refuses the signals it must never handle, naming them.
#include <kyoto/signal.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>
#include <string>

namespace {

using kyoto::signal::unix::signal_kind;

TEST(SignalRefused, FaultsAndUncatchableSignalsAreRefusedByName) {
  const std::pair<int, const char*> refused[] = {{SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},
                                                 {SIGILL, "SIGILL"},   {SIGFPE, "SIGFPE"},
                                                 {SIGKILL, "SIGKILL"}, {SIGSTOP, "SIGSTOP"}};
  for (const auto& [n, name] : refused) {
    try {
      (void)kyoto::signal::unix::signal(signal_kind::from_raw(n));
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(SignalRefused, NumbersThatAreNotSignals) {
  EXPECT_THROW((void)kyoto::signal::unix::signal(signal_kind::from_raw(0)), std::invalid_argument);
  EXPECT_THROW((void)kyoto::signal::unix::signal(signal_kind::from_raw(-3)), std::invalid_argument);
  EXPECT_THROW((void)kyoto::signal::unix::signal(signal_kind::from_raw(4096)),
               std::invalid_argument);
}

}  // namespace
