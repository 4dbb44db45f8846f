// The branch coroutine of a select: a small coroutine that calls one
// operation's await_suspend (after the select's pass found it not ready)
// and, resumed when the operation completes, makes its branch the winner.
// See the file comment of select.hpp.
#pragma once

#include <kyoto/runtime/detail/frame_pool.hpp>
#include <kyoto/runtime/detail/unique_coroutine.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

namespace kyoto::detail {

/// What the branches of one select share. Owned by the select's awaiter.
struct select_state {
  static constexpr std::size_t none = ~std::size_t{0};
  std::coroutine_handle<> parent;  ///< the coroutine awaiting the select
  std::size_t winner = none;       ///< the branch that finished first
  bool parent_suspended = false;   ///< await_suspend returned true
  std::exception_ptr error;        ///< the winner threw (from await_suspend)
  void* self = nullptr;            ///< the select_awaiter
  void (*cancel_losers)(void* self, std::size_t winner) noexcept = nullptr;
};

/// A select branch's coroutine; owns its frame.
class select_branch {
 public:
  class promise_type : public pooled_frame {
   public:
    template <class... Args>
    promise_type(select_state* s, std::size_t index, Args&...) noexcept
        : state_(s), index_(index) {}

    select_branch get_return_object() noexcept {
      return select_branch(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        select_state& s = *p.state_;
        // Losers are destroyed the moment a winner exists, so none gets here.
        assert(s.winner == select_state::none);
        s.winner = p.index_;
        s.error = std::move(p.error_);
        s.cancel_losers(s.self, p.index_);
        if (s.parent_suspended) return s.parent;
        return std::noop_coroutine();  // back to the select's start pass
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

   private:
    select_state* state_;
    std::size_t index_;
    std::exception_ptr error_;
  };

  select_branch() noexcept = default;

  void start() const { frame_.resume(); }
  void reset() noexcept { frame_.reset(); }

 private:
  explicit select_branch(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}
  unique_coroutine<promise_type> frame_;
};

/// The branch's co_await: the pass already asked await_ready.
template <class Op>
struct select_suspend {
  Op& op;
  bool await_ready() const noexcept { return false; }
  decltype(auto) await_suspend(std::coroutine_handle<> h) { return op.suspend(h); }
  void await_resume() const noexcept {}  // the select takes the result
};

/// The branch coroutine for `op`, the index-th branch of the select whose
/// state is `state` (both read by the promise's constructor).
template <class Op>
select_branch run_select_branch(select_state*, std::size_t, Op& op) {
  co_await select_suspend<Op>{op};
}

}  // namespace kyoto::detail
