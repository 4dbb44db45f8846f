// kyoto's intrusive lists (tokio's util/linked_list.rs): the one place a
// linked list of runtime objects is written. Two shapes:
//
//  - intrusive_list: doubly linked, O(1) push at either end and removal
//    from anywhere. Wait lists of the sync primitives, a scheduler's owned
//    tasks, a timer-wheel slot.
//  - intrusive_queue: singly linked FIFO with O(1) append of a whole queue.
//    Run queues: the injection queue, a current_thread scheduler's queue.
//
// Neither allocates nor is thread-safe: whoever owns the list (one thread,
// or the lock that guards it) owns the links of every element in it. An
// element is in at most one list per pair of link members; the list never
// owns, constructs or destroys elements.
#pragma once

#include <cassert>
#include <cstddef>

namespace kyoto::detail {

/// The ends and length both lists keep, and linking a chain at the back:
/// what intrusive_list and intrusive_queue share. Not thread-safe.
template <class T>
class intrusive_ends {
 public:
  intrusive_ends(const intrusive_ends&) = delete;
  intrusive_ends& operator=(const intrusive_ends&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  T* front() const noexcept { return head_; }

 protected:
  intrusive_ends() noexcept = default;
  /// Takes every element of `o`, which is left empty (the elements' links
  /// do not point at the list, so they stay as they are).
  intrusive_ends(intrusive_ends&& o) noexcept : head_(o.head_), tail_(o.tail_), size_(o.size_) {
    o.forget_all();
  }
  ~intrusive_ends() = default;

  /// Links a chain `first` … `last` of `n` elements, already linked to one
  /// another through `Next` (and `last`'s `Next` null), at the back.
  template <T* T::* Next>
  void link_back(T* first, T* last, std::size_t n) noexcept {
    if (tail_ != nullptr) {
      tail_->*Next = first;
    } else {
      head_ = first;
    }
    tail_ = last;
    size_ += n;
  }

  /// Empties the list without touching the elements' links.
  void forget_all() noexcept {
    head_ = tail_ = nullptr;
    size_ = 0;
  }

  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::size_t size_ = 0;
};

/// A doubly linked intrusive list of `T`, linked through `T::*Prev` and
/// `T::*Next` (plain `T*` members, null while unlinked). Not thread-safe.
template <class T, T* T::* Prev = &T::prev, T* T::* Next = &T::next>
class intrusive_list : public intrusive_ends<T> {
  using base = intrusive_ends<T>;
  using base::head_;
  using base::size_;
  using base::tail_;

 public:
  intrusive_list() noexcept = default;
  /// Takes every element of `o`, which is left empty.
  intrusive_list(intrusive_list&& o) noexcept = default;

  T* back() const noexcept { return tail_; }
  /// The element after `t` in this list, or null.
  static T* next(const T* t) noexcept { return t->*Next; }

  void push_back(T* t) noexcept {
    t->*Next = nullptr;
    t->*Prev = tail_;
    this->template link_back<Next>(t, t, 1);
  }

  void push_front(T* t) noexcept {
    t->*Prev = nullptr;
    t->*Next = head_;
    if (head_ != nullptr) {
      head_->*Prev = t;
    } else {
      tail_ = t;
    }
    head_ = t;
    ++size_;
  }

  /// Unlinks and returns the first element, or null if empty.
  T* pop_front() noexcept {
    T* t = head_;
    if (t != nullptr) remove(t);
    return t;
  }

  /// Unlinks `t`, which must be in this list.
  void remove(T* t) noexcept {
    T* const prev = t->*Prev;
    T* const next = t->*Next;
    if (prev != nullptr) {
      prev->*Next = next;
    } else {
      assert(head_ == t);
      head_ = next;
    }
    if (next != nullptr) {
      next->*Prev = prev;
    } else {
      assert(tail_ == t);
      tail_ = prev;
    }
    t->*Prev = nullptr;
    t->*Next = nullptr;
    --size_;
  }

  /// Puts `to` where `from` is (an element that moved in memory); `from`
  /// leaves the list with null links.
  void replace(T* from, T* to) noexcept {
    T* const prev = from->*Prev;
    T* const next = from->*Next;
    to->*Prev = prev;
    to->*Next = next;
    if (prev != nullptr) {
      prev->*Next = to;
    } else {
      head_ = to;
    }
    if (next != nullptr) {
      next->*Prev = to;
    } else {
      tail_ = to;
    }
    from->*Prev = nullptr;
    from->*Next = nullptr;
  }

  /// Unlinks every element, calling `f(T*)` on each in order, after it is
  /// unlinked (so `f` may destroy it or link it elsewhere).
  template <class F>
  void drain(F&& f) {
    while (T* t = pop_front())
      f(t);
  }
};

/// A singly linked intrusive FIFO of `T`, linked through `T::*Next`.
/// Not thread-safe.
template <class T, T* T::* Next = &T::next>
class intrusive_queue : public intrusive_ends<T> {
  using base = intrusive_ends<T>;
  using base::head_;
  using base::size_;
  using base::tail_;

 public:
  intrusive_queue() noexcept = default;
  /// Takes every element of `o`, which is left empty.
  intrusive_queue(intrusive_queue&& o) noexcept = default;

  void push_back(T* t) noexcept {
    t->*Next = nullptr;
    this->template link_back<Next>(t, t, 1);
  }

  /// Unlinks and returns the first element, or null if empty.
  T* pop_front() noexcept {
    T* t = head_;
    if (t != nullptr) {
      head_ = t->*Next;
      if (head_ == nullptr) tail_ = nullptr;
      t->*Next = nullptr;
      --size_;
    }
    return t;
  }

  /// Moves all of `other` to the back of this queue, in order.
  void append(intrusive_queue& other) noexcept {
    if (other.head_ == nullptr) return;
    this->template link_back<Next>(other.head_, other.tail_, other.size_);
    other.forget_all();
  }

  /// Appends a chain `first` … `last` of `n` elements already linked
  /// through `Next` (`last`'s link is set to null here).
  void append_chain(T* first, T* last, std::size_t n) noexcept {
    assert(first != nullptr && last != nullptr && n > 0);
    last->*Next = nullptr;
    this->template link_back<Next>(first, last, n);
  }
};

}  // namespace kyoto::detail
