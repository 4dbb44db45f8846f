// tokio's tests/support/signal.rs: raise a signal in the whole process
// (kill(getpid(), ...), not raise(): the kernel picks the thread).
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

namespace kyoto::test {

inline void send_signal(int signum) {
  ASSERT_EQ(::kill(::getpid(), signum), 0);
}

}  // namespace kyoto::test
