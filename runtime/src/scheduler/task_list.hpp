// Intrusive task lists shared by the schedulers. Not thread-safe: each list
// is guarded by its owner (one thread, or a mutex).
#pragma once

#include <kyoto/runtime/detail/task_header.hpp>

#include <cassert>
#include <cstddef>

namespace kyoto::detail {

/// FIFO of tasks through task_header::queue_next.
class task_queue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  void push_back(task_header* t) noexcept {
    t->queue_next = nullptr;
    if (tail_ != nullptr) {
      tail_->queue_next = t;
    } else {
      head_ = t;
    }
    tail_ = t;
    ++size_;
  }

  task_header* pop_front() noexcept {
    task_header* t = head_;
    if (t != nullptr) {
      head_ = t->queue_next;
      if (head_ == nullptr) tail_ = nullptr;
      t->queue_next = nullptr;
      --size_;
    }
    return t;
  }

  /// Moves all of `other` to the back of this queue.
  void append(task_queue& other) noexcept {
    if (other.head_ == nullptr) return;
    if (tail_ != nullptr) {
      tail_->queue_next = other.head_;
    } else {
      head_ = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
  }

 private:
  task_header* head_ = nullptr;
  task_header* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// The live tasks of a scheduler (tokio's OwnedTasks), through
/// task_header::owned_prev/owned_next: what shutdown cancels.
class owned_tasks {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  task_header* front() const noexcept { return head_; }

  void insert(task_header* t) noexcept {
    assert(!t->owned_linked);
    t->owned_prev = nullptr;
    t->owned_next = head_;
    if (head_ != nullptr) head_->owned_prev = t;
    head_ = t;
    t->owned_linked = true;
    ++size_;
  }

  void remove(task_header* t) noexcept {
    assert(t->owned_linked);
    if (t->owned_prev != nullptr) {
      t->owned_prev->owned_next = t->owned_next;
    } else {
      head_ = t->owned_next;
    }
    if (t->owned_next != nullptr) t->owned_next->owned_prev = t->owned_prev;
    t->owned_prev = t->owned_next = nullptr;
    t->owned_linked = false;
    --size_;
  }

 private:
  task_header* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kyoto::detail
