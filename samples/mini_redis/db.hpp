// mini-redis's db module (upstream src/db.rs): the key-value store and the
// pub/sub channels every connection shares.
//
// The state sits behind one std::mutex (as upstream's std::sync::Mutex: the
// critical sections are short and never await). Keys with an expiry are
// also kept in `expirations`, ordered by deadline; one background task
// sleeps until the earliest deadline, removes what has expired, and goes
// back to sleep. set() wakes it (kyoto::sync::notify) only when the new
// deadline comes before every other one. Dropping the db_drop_guard tells
// the task to stop.
#pragma once

#include <kyoto/bytes.hpp>
#include <kyoto/sync/broadcast.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mini_redis {

namespace detail {
struct db_shared;
}

/// A handle to the shared database (upstream's Db): cheap to copy (a
/// shared_ptr), every copy the same state.
///
/// Thread safety: every member from any thread at once. None suspends.
class db {
 public:
  /// A new, empty database; spawns its expiry task on the current runtime
  /// (precondition: called inside a runtime).
  db();

  /// The value under `key`, if any (and not yet purged).
  std::optional<kyoto::bytes> get(std::string_view key) const;

  /// Stores `value` under `key`, replacing any previous value and expiry;
  /// with `expire`, the key is removed once that much time has passed
  /// (saturating: a deadline past what the clock can hold never comes).
  void set(std::string key, kyoto::bytes value, std::optional<std::chrono::milliseconds> expire);

  /// set() without an expiry, the key as a view: no allocation for the
  /// key when it is already stored (fast_path.hpp's SET).
  void set(std::string_view key, kyoto::bytes value);

  /// A receiver of the messages published to `key` from now on (the
  /// channel is created on first use, with room for 1024 messages).
  kyoto::sync::broadcast::receiver<kyoto::bytes> subscribe(std::string key);

  /// Publishes `value` on `key`; gives the number of subscribers that will
  /// see it.
  std::size_t publish(std::string_view key, kyoto::bytes value);

 private:
  friend class db_drop_guard;
  void shutdown_purge_task();

  std::shared_ptr<detail::db_shared> shared_;
};

/// Owns the db and stops its expiry task when dropped (upstream's
/// DbDropGuard): the server holds one.
///
/// Thread safety: as db.
class db_drop_guard {
 public:
  /// A new database (see db::db()).
  db_drop_guard() = default;
  db_drop_guard(const db_drop_guard&) = delete;
  db_drop_guard& operator=(const db_drop_guard&) = delete;
  /// Tells the expiry task to stop.
  ~db_drop_guard() { db_.shutdown_purge_task(); }

  /// A handle to the database.
  db get() const { return db_; }

 private:
  db db_;
};

}  // namespace mini_redis
