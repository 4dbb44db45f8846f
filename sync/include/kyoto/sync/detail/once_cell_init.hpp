// The initialisation permit of kyoto::sync::once_cell: one initialiser
// runs at a time, holding the cell's one-permit semaphore.
#pragma once

#include <kyoto/sync/detail/batch_semaphore.hpp>

namespace kyoto::detail {

/// Awaits the initialisation permit; true if acquired, false if the
/// semaphore was closed (the value is set).
class once_cell_init_awaiter : public acquire_op {
 public:
  using acquire_op::acquire_op;
  bool await_resume() noexcept { return resume(); }
};

/// Gives the initialisation permit back at scope exit.
class once_cell_init_permit {
 public:
  explicit once_cell_init_permit(batch_semaphore& s) noexcept : sem_(s) {}
  once_cell_init_permit(const once_cell_init_permit&) = delete;
  once_cell_init_permit& operator=(const once_cell_init_permit&) = delete;
  ~once_cell_init_permit() { sem_.release(1); }

 private:
  batch_semaphore& sem_;
};

}  // namespace kyoto::detail
