// The error types of kyoto::sync, ported from tokio 1.24 tests/sync_errors.rs.
//
// tokio checks `is_error::<E>()`: every error implements std::error::Error
// (a Display message) and is Send + Sync. kyoto's counterpart: every error
// is a plain value type with a `what()` message (tokio's Display text),
// nothrow-movable, copyable when its payload is, and usable from any
// thread (no shared state). The static checks below are that contract; the
// tests check the messages, which users print.
//
// Extended to every primitive's errors (tokio's file covers mpsc, oneshot
// and watch only).
#include <kyoto/sync.hpp>

#include <gtest/gtest.h>

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

namespace {

/// tokio's `is_error`: a message, and a value type safe to move between
/// threads.
template <class E>
concept sync_error = requires(const E& e) {
  { std::string_view(e.what()) };
} && std::is_nothrow_move_constructible_v<E> && std::is_nothrow_destructible_v<E>;

/// Errors without a payload are also copyable (tokio: Clone).
template <class E>
concept copyable_sync_error = sync_error<E> && std::is_copy_constructible_v<E>;

namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;
namespace watch = kyoto::sync::watch;
namespace broadcast = kyoto::sync::broadcast;

// tokio: mpsc_error_bound
static_assert(copyable_sync_error<mpsc::send_error<int>>);
static_assert(copyable_sync_error<mpsc::send_error<>>);
static_assert(copyable_sync_error<mpsc::try_send_error<int>>);
static_assert(copyable_sync_error<mpsc::send_timeout_error<int>>);
static_assert(copyable_sync_error<mpsc::try_recv_error>);
static_assert(sync_error<mpsc::send_error<std::unique_ptr<int>>>);

// tokio: oneshot_error_bound
static_assert(copyable_sync_error<oneshot::recv_error>);
static_assert(copyable_sync_error<oneshot::try_recv_error>);
static_assert(copyable_sync_error<oneshot::send_error<int>>);

// tokio: watch_error_bound
static_assert(copyable_sync_error<watch::send_error<int>>);
static_assert(copyable_sync_error<watch::recv_error>);

// The rest of kyoto::sync.
static_assert(copyable_sync_error<broadcast::send_error<int>>);
static_assert(copyable_sync_error<broadcast::recv_error>);
static_assert(copyable_sync_error<broadcast::try_recv_error>);
static_assert(copyable_sync_error<kyoto::sync::acquire_error>);
static_assert(copyable_sync_error<kyoto::sync::try_acquire_error>);
static_assert(copyable_sync_error<kyoto::sync::try_lock_error>);
static_assert(copyable_sync_error<kyoto::sync::set_error<int>>);

std::string message(const auto& e) {
  return std::string(e.what());
}

// tokio's Display strings (src/sync/mpsc/error.rs).
TEST(SyncErrors, MpscErrorsSayWhatWentWrong) {
  EXPECT_EQ(message(mpsc::send_error<int>{1}), "channel closed");
  EXPECT_EQ(message(mpsc::send_error<>{}), "channel closed");
  EXPECT_EQ(message(mpsc::try_send_error<int>{mpsc::try_send_error<int>::reason::full, 1}),
            "no available capacity");
  EXPECT_EQ(message(mpsc::try_send_error<int>{mpsc::try_send_error<int>::reason::closed, 1}),
            "channel closed");
}

// tokio's Display strings (src/sync/oneshot.rs, watch.rs).
TEST(SyncErrors, OneshotAndWatchErrorsSayWhatWentWrong) {
  EXPECT_EQ(message(oneshot::recv_error{}), "channel closed");
  EXPECT_EQ(message(oneshot::try_recv_error(oneshot::try_recv_error::kind::empty)),
            "channel empty");
  EXPECT_EQ(message(oneshot::try_recv_error(oneshot::try_recv_error::kind::closed)),
            "channel closed");
  EXPECT_EQ(message(watch::recv_error{}), "channel closed");
  EXPECT_EQ(message(watch::send_error<int>{1}), "channel closed");
}

TEST(SyncErrors, BroadcastErrorsCarryTheLag) {
  EXPECT_EQ(message(broadcast::recv_error::closed()), "channel closed");
  EXPECT_EQ(message(broadcast::recv_error::lagged(3)), "channel lagged by 3");
  EXPECT_EQ(message(broadcast::try_recv_error::empty()), "channel empty");
  EXPECT_EQ(message(broadcast::try_recv_error::lagged(2)), "channel lagged by 2");
}

TEST(SyncErrors, LockAndSemaphoreErrorsSayWhatWentWrong) {
  using kyoto::sync::try_acquire_error;
  EXPECT_EQ(message(kyoto::sync::acquire_error{}), "semaphore closed");
  EXPECT_EQ(message(try_acquire_error(try_acquire_error::kind::closed)), "semaphore closed");
  EXPECT_EQ(message(try_acquire_error(try_acquire_error::kind::no_permits)),
            "no permits available");
  EXPECT_EQ(message(kyoto::sync::try_lock_error{}), "operation would block");
  using set_error = kyoto::sync::set_error<int>;
  EXPECT_EQ(message(set_error(set_error::kind::already_initialized, 1)),
            "cell already initialized");
  EXPECT_EQ(message(set_error(set_error::kind::initializing, 1)), "cell is being initialized");
}

}  // namespace
