// The shared state of a join_set (runtime/join_set.hpp): its entries, one
// per task, and the ready queue that completion callbacks fill. See the
// file comment of join_set.hpp for the protocol and who touches what.
#pragma once

#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/intrusive_list.hpp>
#include <kyoto/runtime/detail/mutex.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto::detail {

class join_set_core;

/// One task of a join_set; see the file comment.
struct join_set_entry : callback_node {
  task_header* cell = nullptr;           ///< owned: join interest + one reference
  join_set_core* core = nullptr;         ///< the set's shared state
  join_set_entry* prev = nullptr;        ///< in the owner's list (owner only)
  join_set_entry* next = nullptr;        ///< in the owner's list (owner only)
  join_set_entry* ready_next = nullptr;  ///< in the ready queue (under core->lock)
};

[[noreturn]] inline void throw_join_set_pending(const char* operation) {
  throw std::logic_error(std::string(operation) +
                         ": a join_next() of this join_set is waiting (a join_set is used by "
                         "one coroutine at a time)");
}

/// The part of a join_set that completing tasks reach; heap-allocated so
/// the set can move while tasks run. Not templated: only taking a result
/// needs T.
class join_set_core {
 public:
  join_set_core() = default;
  join_set_core(const join_set_core&) = delete;
  join_set_core& operator=(const join_set_core&) = delete;

  /// Adds a spawned task, adopting its join interest and reference.
  /// Owner only. Throws std::bad_alloc, leaving the task detached.
  void add(task_header* cell) {
    void* mem;
    try {
      mem = frame_pool::allocate(sizeof(join_set_entry));
    } catch (...) {
      cell->drop_join_handle(false);
      throw;
    }
    auto* e = ::new (mem) join_set_entry;
    e->fn = &on_complete;
    e->cell = cell;
    e->core = this;
    entries.push_front(e);
    // False: it completed already, and no callback will come.
    if (!cell->set_join_waker(e)) push_ready(e);
  }

  /// Whether a completed task waits in the ready queue.
  bool has_ready() noexcept {
    lock_guard g(lock);
    return !ready.empty();
  }

  /// Takes the first completed entry, or null. Owner only.
  join_set_entry* pop_ready() noexcept {
    lock_guard g(lock);
    return ready.pop_front();
  }

  /// Forgets a popped entry whose result was taken (or is being dropped):
  /// waits until its task is done with the node, drops the interest and
  /// the reference, frees the entry. Owner only.
  void erase(join_set_entry* e, bool result_taken) noexcept {
    e->cell->unset_join_waker(e);  // complete: waits for the callback to return
    entries.remove(e);
    e->cell->drop_join_handle(result_taken);
    destroy_entry(e);
  }

  /// Aborts every task. Owner only.
  void abort_all() noexcept {
    for (join_set_entry* e = entries.front(); e != nullptr; e = entry_list::next(e))
      e->cell->abort();
  }

  /// Removes every entry, aborting their tasks first if `abort`; see the
  /// file comment for the order. An exception of a completed task that
  /// nobody joined is logged (drop_join_handle). Owner only.
  void clear(bool abort) noexcept {
    for (join_set_entry* e = entries.front(); e != nullptr; e = entry_list::next(e)) {
      if (abort) e->cell->abort();
      e->cell->unset_join_waker(e);
    }
    // No callback is running or will run: the queue and entries are ours.
    {
      lock_guard g(lock);
      while (ready.pop_front() != nullptr) {
      }
    }
    entries.drain([](join_set_entry* e) {
      e->cell->drop_join_handle(false);
      destroy_entry(e);
    });
  }

  using entry_list = intrusive_list<join_set_entry>;

  /// The number of tasks in the set (owner only).
  std::size_t size() const noexcept { return entries.size(); }

  /// Guards the ready queue and the waiter.
  mutex lock;
  /// Completed entries, in completion order (lock).
  intrusive_queue<join_set_entry, &join_set_entry::ready_next> ready;
  /// The waiting join_next()'s node (lock); taken (nulled) by the wake.
  wake_node* waiter = nullptr;

  entry_list entries;    ///< every entry of the set (owner only)
  bool pending = false;  ///< a join_next() is suspended (owner only)

 private:
  /// The completion callback; see the file comment. Runs on the completing
  /// thread, inside task_header::finish().
  static void on_complete(callback_node* n) noexcept {
    auto* e = static_cast<join_set_entry*>(n);
    e->core->push_ready(e);
  }

  void push_ready(join_set_entry* e) noexcept {
    lock_guard g(lock);
    ready.push_back(e);
    // Woken under the lock: the wake rule (the awaiter's destructor takes it).
    if (wake_node* w = std::exchange(waiter, nullptr)) w->wake();
  }

  static void destroy_entry(join_set_entry* e) noexcept {
    e->~join_set_entry();
    frame_pool::deallocate(e, sizeof(join_set_entry));
  }
};

}  // namespace kyoto::detail
