// tokio's tests/support/signal.rs: raise a signal in the whole process
// with kill(getpid(), ...), so the kernel picks the thread that runs the
// handler (any thread that does not block it).
//
// Under ThreadSanitizer, raise() instead: TSan defers an asynchronous
// signal's handler until the receiving thread next enters an intercepted
// function, and a kyoto thread parked in io_uring_enter or a raw futex
// call never does, so the delivery would wait forever. A signal the
// calling thread sends itself through TSan's raise() interceptor is
// handled synchronously.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <csignal>

#if defined(__SANITIZE_THREAD__)
#define KYOTO_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KYOTO_TEST_TSAN 1
#endif
#endif

namespace kyoto::test {

inline void send_signal(int signum) {
#ifdef KYOTO_TEST_TSAN
  ASSERT_EQ(::raise(signum), 0);
#else
  ASSERT_EQ(::kill(::getpid(), signum), 0);
#endif
}

}  // namespace kyoto::test
