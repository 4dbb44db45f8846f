// Test helper: counts live instances, to prove destructors ran.
#pragma once

#include <atomic>
#include <utility>

namespace kyoto::test {

/// Increments `*counter` when destroyed (a moved-from instance does not).
class drop_counter {
 public:
  explicit drop_counter(std::atomic<int>& counter) noexcept : counter_(&counter) {}
  drop_counter(drop_counter&& o) noexcept : counter_(std::exchange(o.counter_, nullptr)) {}
  drop_counter& operator=(drop_counter&&) = delete;
  ~drop_counter() {
    if (counter_ != nullptr) counter_->fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<int>* counter_;
};

}  // namespace kyoto::test
