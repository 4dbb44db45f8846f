// An intrusive FIFO of waiters with O(1) removal from anywhere, for the
// wait lists of kyoto's primitives. Not thread-safe: the primitive's lock
// guards it. A waiter type W has `W* prev` and `W* next` members and is in
// at most one list at a time.
#pragma once

#include <cassert>

namespace kyoto::detail {

template <class W>
class waiter_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  W* front() const noexcept { return head_; }

  void push_back(W* w) noexcept {
    w->next = nullptr;
    w->prev = tail_;
    if (tail_ != nullptr) {
      tail_->next = w;
    } else {
      head_ = w;
    }
    tail_ = w;
  }

  W* pop_front() noexcept {
    W* w = head_;
    if (w != nullptr) remove(w);
    return w;
  }

  void remove(W* w) noexcept {
    if (w->prev != nullptr) {
      w->prev->next = w->next;
    } else {
      assert(head_ == w);
      head_ = w->next;
    }
    if (w->next != nullptr) {
      w->next->prev = w->prev;
    } else {
      assert(tail_ == w);
      tail_ = w->prev;
    }
    w->prev = w->next = nullptr;
  }

  /// Puts `to` where `from` is (a waiter whose awaiter moved); `from` leaves.
  void replace(W* from, W* to) noexcept {
    to->prev = from->prev;
    to->next = from->next;
    if (to->prev != nullptr) {
      to->prev->next = to;
    } else {
      head_ = to;
    }
    if (to->next != nullptr) {
      to->next->prev = to;
    } else {
      tail_ = to;
    }
    from->prev = from->next = nullptr;
  }

 private:
  W* head_ = nullptr;
  W* tail_ = nullptr;
};

}  // namespace kyoto::detail
