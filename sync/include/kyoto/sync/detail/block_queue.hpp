// The buffer behind kyoto's channels: a FIFO of T in fixed-size blocks.
//
// Values never move once pushed (no reallocation copies, unlike a growing
// ring), memory is taken a block at a time (a channel of capacity 1'000'000
// costs nothing until it fills), and one emptied block is kept to be
// reused, so a channel that hovers around a block boundary does not
// allocate per message. Not thread-safe: the channel's lock guards it.
#pragma once

#include <kyoto/runtime/detail/manual_lifetime.hpp>

#include <cassert>
#include <cstddef>
#include <memory>
#include <utility>

namespace kyoto::detail {

template <class T>
class block_queue {
 public:
  /// Slots per block: about 2 KiB of values, at least 8.
  static constexpr std::size_t block_slots = sizeof(T) >= 256 ? 8 : 2048 / sizeof(T);

  block_queue() noexcept = default;
  block_queue(block_queue&& o) noexcept
      : head_(std::exchange(o.head_, nullptr)),
        tail_(std::exchange(o.tail_, nullptr)),
        spare_(std::exchange(o.spare_, nullptr)),
        head_index_(std::exchange(o.head_index_, 0)),
        tail_index_(std::exchange(o.tail_index_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  block_queue& operator=(block_queue&&) = delete;
  ~block_queue() {
    while (!empty())
      pop_front();
    free_block(head_);
    free_block(spare_);
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  template <class U>
  void push_back(U&& value) {
    if (tail_ == nullptr) {
      head_ = tail_ = new_block();
    } else if (tail_index_ == block_slots) {
      block* b = new_block();
      tail_->next = b;
      tail_ = b;
      tail_index_ = 0;
    }
    tail_->slots[tail_index_].construct(std::forward<U>(value));
    ++tail_index_;
    ++size_;
  }

  T& front() noexcept {
    assert(!empty());
    return *head_->slots[head_index_];
  }

  /// Moves the front out and removes it. If the move throws, the queue is
  /// unchanged.
  T pop_front() {
    T value(std::move(front()));
    drop_front();
    return value;
  }

  /// Destroys the front (moved from or not) and removes it.
  void drop_front() noexcept {
    assert(!empty());
    head_->slots[head_index_].destroy();
    ++head_index_;
    --size_;
    if (size_ == 0) {
      // Empty: rewind into the current block.
      free_chain_after(head_);
      tail_ = head_;
      head_index_ = tail_index_ = 0;
    } else if (head_index_ == block_slots) {
      block* done = head_;
      head_ = head_->next;
      head_index_ = 0;
      recycle(done);
    }
  }

 private:
  struct block {
    block* next = nullptr;
    /// Live from head_index_ (head block) to tail_index_ (tail block).
    manual_lifetime<T> slots[block_slots];
  };

  block* new_block() {
    if (spare_ != nullptr) {
      block* b = std::exchange(spare_, nullptr);
      b->next = nullptr;
      return b;
    }
    return new block;
  }
  void recycle(block* b) noexcept {
    if (spare_ == nullptr) {
      spare_ = b;
    } else {
      delete b;
    }
  }
  void free_chain_after(block* b) noexcept {
    block* n = b->next;
    b->next = nullptr;
    while (n != nullptr)
      recycle(std::exchange(n, n->next));
  }
  static void free_block(block* b) noexcept { delete b; }

  block* head_ = nullptr;   // pop side
  block* tail_ = nullptr;   // push side
  block* spare_ = nullptr;  // one emptied block kept for reuse
  std::size_t head_index_ = 0;
  std::size_t tail_index_ = 0;
  std::size_t size_ = 0;
};

}  // namespace kyoto::detail
