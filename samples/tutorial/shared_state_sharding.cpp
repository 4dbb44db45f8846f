// tokio's tutorial, "Shared state": the sections on holding a lock across
// an await point, and mutex sharding (docs/tutorial/shared-state.md).
#include <kyoto/bytes.hpp>
#include <kyoto/kyoto.hpp>

#include <cstddef>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

kyoto::task<> do_something_async() {
  co_await kyoto::yield_now();
}

// "Restructure your code to not hold the lock across an .await": the
// guard lives in a block (Rust: a method on a struct) that ends before the
// co_await.
struct can_increment {
  std::mutex mutex;
  int value = 0;

  void increment() {
    const std::lock_guard lock(mutex);
    ++value;
  }
};

kyoto::task<> increment_and_do_stuff(can_increment& can_incr) {
  can_incr.increment();
  co_await do_something_async();
}

// "Use Tokio's asynchronous mutex": kyoto::sync::mutex's guard may be held
// across a co_await (docs/sync.md).
kyoto::task<> increment_and_do_stuff(kyoto::sync::mutex<int>& mutex) {
  auto lock = co_await mutex.lock();
  *lock += 1;

  co_await do_something_async();
}  // lock goes out of scope here

// "Mutex sharding": N maps, each behind its own lock; a key's hash picks
// its shard.
struct shard {
  std::mutex mutex;
  std::unordered_map<std::string, kyoto::bytes> map;
};
using sharded_db = std::shared_ptr<std::vector<shard>>;

sharded_db new_sharded_db(std::size_t num_shards) {
  return std::make_shared<std::vector<shard>>(num_shards);
}

void insert(const sharded_db& db, const std::string& key, kyoto::bytes value) {
  shard& s = (*db)[std::hash<std::string>{}(key) % db->size()];
  const std::lock_guard lock(s.mutex);
  s.map.insert_or_assign(key, std::move(value));
}

KYOTO_MAIN() {
  can_increment counter;
  co_await increment_and_do_stuff(counter);
  kyoto::sync::mutex<int> mutex(0);
  co_await increment_and_do_stuff(mutex);
  std::cout << "std::mutex: " << counter.value << ", kyoto::sync::mutex: " << *co_await mutex.lock()
            << '\n';

  const sharded_db db = new_sharded_db(4);
  insert(db, "hello", kyoto::bytes::from_static("world"));
  insert(db, "foo", kyoto::bytes::from_static("bar"));
  std::size_t entries = 0;
  for (shard& s : *db) {
    const std::lock_guard lock(s.mutex);
    entries += s.map.size();
  }
  std::cout << "sharded: " << entries << " entries in " << db->size() << " shards\n";
}
