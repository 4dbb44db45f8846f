// Test helpers that replace tokio_test's mock polling with real tasks on a
// current_thread runtime (KYOTO_CT_TEST): a task still unfinished after the
// others have run a few times over is waiting; a woken one finishes within
// a bounded number of yields, so a broken wake fails the test instead of
// hanging it.
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/yield_now.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <utility>

namespace kyoto::test {

/// Lets every other ready task run `rounds` times over.
inline kyoto::task<> let_others_run(int rounds = 5) {
  for (int i = 0; i < rounds; ++i)
    co_await kyoto::yield_now();
}

/// Whether `h` finishes while the other tasks run at most 100 times over.
template <class T>
kyoto::task<bool> finishes_soon(const kyoto::join_handle<T>& h) {
  for (int i = 0; i < 100 && !h.is_finished(); ++i)
    co_await kyoto::yield_now();
  co_return h.is_finished();
}

/// Spawns `t` and lets the others run: it must be waiting (a failure if it
/// finished instead).
template <class T>
kyoto::task<kyoto::join_handle<T>> spawn_waiting(kyoto::task<T> t) {
  auto h = kyoto::spawn(std::move(t));
  co_await let_others_run();
  EXPECT_FALSE(h.is_finished()) << "it did not wait";
  co_return h;
}

/// Another task for the cooperative-budget tests: takes `n` steps,
/// counting each in `steps` and yielding after it.
inline kyoto::task<> count_steps(std::atomic<int>& steps, int n = 10) {
  for (int i = 0; i < n; ++i) {
    ++steps;
    co_await kyoto::yield_now();
  }
}

/// Another task for the cooperative-budget tests: raises `ran` and ends.
inline kyoto::task<> raise_flag(std::atomic<bool>& ran) {
  ran = true;
  co_return;
}

/// Awaits `h`; true if the task was cancelled (join_error).
template <class T>
kyoto::task<bool> was_cancelled(kyoto::join_handle<T>& h) {
  try {
    (void)co_await h;
  } catch (const kyoto::join_error&) {
    co_return true;
  }
  co_return false;
}

/// Awaits `h`; true if it ended cancelled: a join_error that
/// is_cancelled(), not a panic.
template <class T>
kyoto::task<bool> ended_cancelled(kyoto::join_handle<T>& h) {
  try {
    (void)co_await h;
  } catch (const kyoto::join_error& e) {
    co_return e.is_cancelled();
  }
  co_return false;
}

}  // namespace kyoto::test
