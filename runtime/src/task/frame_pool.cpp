// The depot behind the per-thread lists; see frame_pool.hpp.
#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <vector>

namespace kyoto::detail {

namespace {

/// Batches of free blocks per class, shared by all threads.
struct depot {
  struct per_class {
    mutex lock;
    std::vector<void*> batches;  ///< chain heads, `frame_pool::batch` blocks each
  };
  per_class classes[frame_pool::classes];
};

/// Never destroyed: threads may return blocks during static destruction.
depot& the_depot() {
  static depot* d = new depot;
  return *d;
}

}  // namespace

/// Returns a thread's cached blocks to the depot when it exits.
struct frame_pool_releaser {
  ~frame_pool_releaser() {
    frame_pool::lists& l = frame_pool::lists_;
    for (std::size_t c = 0; c < frame_pool::classes; ++c) {
      while (l.count[c] >= frame_pool::batch)
        frame_pool::spill(c);
      while (frame_pool::block* b = l.head[c]) {
        l.head[c] = b->next;
        ::operator delete(b, frame_pool::class_size(c));
      }
      l.count[c] = 0;
    }
    // Blocks freed by later thread_local destructors bypass the pool.
    l.exiting = true;
  }
};

void frame_pool::register_thread() noexcept {
  // Constructing a thread_local with a trivial constructor and a destructor
  // only registers the destructor (__cxa_thread_atexit): it cannot throw
  // in practice; if registration failed the runtime would terminate, as
  // for any thread_local.
  static thread_local frame_pool_releaser releaser;
  (void)releaser;
  lists_.registered = true;
}

void* frame_pool::refill(std::size_t c) {
  static_assert(class_size(class_of(max_pooled)) >= max_pooled && class_of(max_pooled) < classes);
  static_assert(class_of(104) == class_of(97) && class_size(class_of(104)) == 104);
  static_assert(class_size(class_of(105)) == 120 && class_size(class_of(1)) == smallest);
  if (!lists_.registered) [[unlikely]]
    register_thread();
  void* chain = nullptr;
  {
    depot::per_class& d = the_depot().classes[c];
    lock_guard guard(d.lock);
    if (!d.batches.empty()) {
      chain = d.batches.back();
      d.batches.pop_back();
    }
  }
  if (chain == nullptr) return ::operator new(class_size(c));
  // Keep the first block, cache the rest of the batch.
  auto* first = static_cast<block*>(chain);
  lists_.head[c] = first->next;
  lists_.count[c] = batch - 1;
  return first;
}

void frame_pool::spill(std::size_t c) noexcept {
  // Detach `batch` blocks from the front of the list as one chain.
  block* head = lists_.head[c];
  block* tail = head;
  for (std::size_t i = 1; i < batch; ++i)
    tail = tail->next;
  lists_.head[c] = tail->next;
  tail->next = nullptr;
  lists_.count[c] -= batch;
  depot::per_class& d = the_depot().classes[c];
  {
    lock_guard guard(d.lock);
    if ((d.batches.size() + 1) * batch * class_size(c) <= max_depot_bytes) {
      d.batches.push_back(head);
      return;
    }
  }
  // The depot is full: give the batch back to the global allocator.
  while (head != nullptr) {
    block* next = head->next;
    ::operator delete(head, class_size(c));
    head = next;
  }
}

}  // namespace kyoto::detail
