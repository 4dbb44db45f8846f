#include <kyoto/runtime/detail/frame_pool.hpp>

namespace kyoto::detail {

/// Returns a thread's cached blocks when it exits.
struct frame_pool_releaser {
  ~frame_pool_releaser() {
    frame_pool::lists& l = frame_pool::lists_;
    for (std::size_t c = 0; c < frame_pool::classes; ++c) {
      while (frame_pool::block* b = l.head[c]) {
        l.head[c] = b->next;
        ::operator delete(b, frame_pool::class_size(c));
      }
      l.count[c] = 0;
    }
    l.cached_bytes = 0;
    // Blocks freed by later thread_local destructors bypass the pool.
    l.exiting = true;
  }
};

void frame_pool::register_thread_exit() noexcept {
  static thread_local frame_pool_releaser releaser;
  (void)releaser;
  lists_.registered = true;
}

}  // namespace kyoto::detail
