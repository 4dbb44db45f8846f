// Many readers or one writer (tokio's RwLock docs example), and a writer
// that downgrades to a reader without letting another writer in.
#include <kyoto/kyoto.hpp>

#include <iostream>

using kyoto::sync::rw_lock;

KYOTO_MAIN() {
  rw_lock<int> lock(5);

  // Many reader locks can be held at once.
  {
    auto r1 = co_await lock.read();
    auto r2 = co_await lock.read();
    std::cout << "two readers see " << *r1 << " and " << *r2 << '\n';
  }  // read locks are dropped here

  // Only one write lock may be held.
  {
    auto w = co_await lock.write();
    *w += 1;
    std::cout << "the writer made it " << *w << '\n';
    std::cout << "try_read while writing: "
              << (lock.try_read() ? "ok" : lock.try_read().error().what()) << '\n';
    auto r = std::move(w).downgrade();
    std::cout << "downgraded, reading " << *r
              << "; another reader: " << (lock.try_read() ? "ok" : "blocked")
              << "; a writer: " << (lock.try_write() ? "ok" : "blocked") << '\n';
  }
  std::cout << "finally " << *co_await lock.read() << '\n';
}
