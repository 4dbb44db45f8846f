// mini-redis's db module (upstream src/db.rs).
#include "db.hpp"

#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/sync/notify.hpp>
#include <kyoto/time/sleep.hpp>

#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

namespace mini_redis {
namespace detail {
namespace {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct entry {
  kyoto::bytes data;
  std::optional<kyoto::time::instant> expires_at;
};

}  // namespace

// Everything the db's handles share (upstream's Shared and State).
struct db_shared {
  // Guards the fields below; held only for short, non-suspending sections.
  std::mutex mutex;
  std::unordered_map<std::string, entry, string_hash, std::equal_to<>> entries;
  std::unordered_map<std::string, kyoto::sync::broadcast::sender<kyoto::bytes>, string_hash,
                     std::equal_to<>>
      pub_sub;
  // Keys with an expiry, by deadline: the first is the next to go.
  std::set<std::pair<kyoto::time::instant, std::string>> expirations;
  bool shutdown = false;

  // Wakes the expiry task: an earlier deadline, or shutdown.
  kyoto::sync::notify background_task;

  std::optional<kyoto::time::instant> next_expiration() const {
    if (expirations.empty()) return std::nullopt;
    return expirations.begin()->first;
  }

  // Removes every expired key; gives the next deadline, if any (none at
  // shutdown either).
  std::optional<kyoto::time::instant> purge_expired_keys() {
    const std::lock_guard lock(mutex);
    if (shutdown) return std::nullopt;
    const kyoto::time::instant now = kyoto::time::clock::now();
    while (!expirations.empty()) {
      auto it = expirations.begin();
      if (it->first > now) return it->first;
      entries.erase(it->second);
      expirations.erase(it);
    }
    return std::nullopt;
  }

  bool is_shutdown() {
    const std::lock_guard lock(mutex);
    return shutdown;
  }
};

namespace {

// The background task: purge, then sleep until the next deadline or a
// notification (upstream's purge_expired_tasks).
kyoto::task<> purge_expired_tasks(std::shared_ptr<db_shared> shared) {
  while (!shared->is_shutdown()) {
    if (std::optional<kyoto::time::instant> when = shared->purge_expired_keys()) {
      co_await kyoto::select(kyoto::time::sleep_until(*when), shared->background_task.notified());
    } else {
      co_await shared->background_task.notified();
    }
  }
}

kyoto::time::instant deadline_after(std::chrono::milliseconds d) {
  const kyoto::time::instant now = kyoto::time::clock::now();
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(kyoto::time::instant::max() - now);
  if (d >= room) return kyoto::time::instant::max();
  return now + d;
}

}  // namespace
}  // namespace detail

db::db() : shared_(std::make_shared<detail::db_shared>()) {
  kyoto::spawn(detail::purge_expired_tasks(shared_));
}

std::optional<kyoto::bytes> db::get(std::string_view key) const {
  const std::lock_guard lock(shared_->mutex);
  auto it = shared_->entries.find(key);
  if (it == shared_->entries.end()) return std::nullopt;
  return it->second.data;
}

void db::set(std::string key, kyoto::bytes value, std::optional<std::chrono::milliseconds> expire) {
  std::unique_lock lock(shared_->mutex);
  bool notify = false;
  std::optional<kyoto::time::instant> expires_at;
  if (expire) {
    const kyoto::time::instant when = detail::deadline_after(*expire);
    // Wake the task only if this deadline is the new earliest one.
    const auto next = shared_->next_expiration();
    notify = !next || *next > when;
    expires_at = when;
  }
  auto [it, inserted] = shared_->entries.try_emplace(key);
  // The previous value's deadline, if any, goes with it.
  if (const std::optional<kyoto::time::instant> prev = it->second.expires_at; prev.has_value()) {
    shared_->expirations.erase({prev.value(), key});
  }
  it->second = detail::entry{std::move(value), expires_at};
  if (expires_at) shared_->expirations.emplace(*expires_at, std::move(key));
  lock.unlock();
  if (notify) shared_->background_task.notify_one();
}

void db::set(std::string_view key, kyoto::bytes value) {
  const std::lock_guard lock(shared_->mutex);
  auto it = shared_->entries.find(key);
  if (it == shared_->entries.end()) {
    shared_->entries.emplace(std::string(key), detail::entry{std::move(value), std::nullopt});
    return;
  }
  // The previous value's deadline, if any, goes with it.
  if (const std::optional<kyoto::time::instant> prev = it->second.expires_at; prev.has_value()) {
    shared_->expirations.erase({prev.value(), it->first});
  }
  it->second = detail::entry{std::move(value), std::nullopt};
}

kyoto::sync::broadcast::receiver<kyoto::bytes> db::subscribe(std::string key) {
  const std::lock_guard lock(shared_->mutex);
  auto it = shared_->pub_sub.find(key);
  if (it != shared_->pub_sub.end()) return it->second.subscribe();
  auto [tx, rx] = kyoto::sync::broadcast::channel<kyoto::bytes>(1024);
  shared_->pub_sub.emplace(std::move(key), std::move(tx));
  return std::move(rx);
}

std::size_t db::publish(std::string_view key, kyoto::bytes value) {
  const std::lock_guard lock(shared_->mutex);
  auto it = shared_->pub_sub.find(key);
  if (it == shared_->pub_sub.end()) return 0;
  return it->second.send(std::move(value)).value_or(0);
}

void db::shutdown_purge_task() {
  {
    const std::lock_guard lock(shared_->mutex);
    shared_->shutdown = true;
  }
  shared_->background_task.notify_one();
}

}  // namespace mini_redis
