// kyoto::sync::cancellation_token: a token that tasks wait on and anyone
// cancels, organised as a tree (tokio-util 0.7's CancellationToken).
//
//   kyoto::sync::cancellation_token token;
//   auto child = token.child_token();
//   // a worker:   co_await child.cancelled();   or
//   //             auto r = co_await child.run_until_cancelled(work());
//   // elsewhere:  token.cancel();   // cancels child too
//
// # The tree protocol (tokio-util's tree_node.rs, with one lock per tree)
//
// Every token handle points to a node (`detail::token_node`, shared_ptr).
// Copies of a handle share the node (tokio's clone) and count themselves in
// the node's `handles`. A node has a parent (or none: a root) and children.
//
// Lock: every node of one tree shares one `tree_lock` (the root's; a child
// gets its parent's when created). Nodes never move between trees: a node
// only ever gets a new parent when its parent leaves, and the new parent is
// its grandparent, in the same tree. So "the tree's lock" guards every
// node's `parent`, `children` and `index_in_parent` fields, and a single
// lock acquisition gives a consistent view of a whole tree, with no lock
// order between nodes to respect (tokio locks parent then child and retries
// when the parent changed under it; one lock per tree removes that dance at
// the cost of serialising structure changes of one tree, which are rare:
// creating and dropping children, cancelling).
//
// Invariants, whenever the tree's lock is free:
//  (1) n is in p->children at n->index_in_parent  <=>  n->parent == p.
//  (2) a cancelled node has no parent and no children (cancel() detaches
//      the whole subtree it reaches; nothing is ever linked to a cancelled
//      node: child_token() of one makes a cancelled root).
//  (3) `cancelled` is never unset once set; it is set under the lock.
//
// Operations (each under the tree's lock):
//   child_token()   if the parent is cancelled: a new cancelled root;
//                   otherwise a new node appended to parent->children.
//   cancel()        depth-first over the node's subtree: set `cancelled`
//                   (release), wake the node's waiters (notify_waiters),
//                   unlink every child; the node also leaves its parent
//                   (swap-remove in the parent's vector, fixing the moved
//                   sibling's index).
//   last handle     the node leaves its parent and its children move to
//   dropped         that parent (or become roots): so a child created and
//                   dropped in a loop leaves nothing behind, and dropping a
//                   middle token keeps its children linked to the rest.
//
// Ownership: a child holds its parent (shared_ptr, `parent`), and a parent
// holds its children (`children`), a cycle that each of the two removals
// above breaks; after every handle is gone no node is linked, so every
// node is freed. A waiter (cancelled()) holds its node too.
//
// # Waiting
//
// cancelled() makes a `notified` of the node's notify *first*, then loads
// `cancelled` (acquire). cancel() stores `cancelled` (release) *then* calls
// notify_waiters(), which moves the notify's counter (a release write). If
// the waiter's load says "not cancelled", its notified's snapshot of the
// counter is older than that cancel()'s increment (the counter's acquire
// load in notified() pairs with notify_waiters()' release write, which is
// after the flag store), so the notified completes. No wake-up is lost and
// the waiter resumes on its own task's thread (notify's contract).
#pragma once

#include <kyoto/runtime/select.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/sync/notify.hpp>

#include <kyoto/runtime/detail/awaitable.hpp>
#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace kyoto::detail {

/// Reaches a token's node from tests (defined only there).
struct token_test_access;

/// The lock every node of one cancellation tree shares (see the file
/// comment of cancellation_token.hpp).
struct token_tree_lock {
  mutex m;  ///< guards parent/children/index_in_parent of every node of the tree
};

/// One node of a cancellation tree; see cancellation_token.hpp.
struct token_node {
  explicit token_node(std::shared_ptr<token_tree_lock> l) noexcept : lock(std::move(l)) {}

  /// The tree's lock (shared by every node of the tree).
  std::shared_ptr<token_tree_lock> lock;
  /// Set (release) by cancel() under the tree lock, never unset; read
  /// (acquire) by is_cancelled() and cancelled(), lock-free.
  atomic<bool> cancelled{false};
  /// How many cancellation_token handles refer to this node. Incremented by
  /// copies (relaxed: a copy is made from a live handle), decremented by
  /// destructors (acq_rel: the last one unlinks the node; pairs with the
  /// other destructors' decrements so their uses of the node happen before).
  atomic<std::size_t> handles{1};
  /// Woken (notify_waiters) by cancel().
  kyoto::sync::notify waiters;
  /// The parent, or null; guarded by the tree lock.
  std::shared_ptr<token_node> parent;
  /// The children; guarded by the tree lock.
  std::vector<std::shared_ptr<token_node>> children;
  /// This node's index in parent->children; guarded by the tree lock.
  std::size_t index_in_parent = 0;
};

/// A new child of `parent` (a cancelled root if `parent` is cancelled).
KYOTO_EXPORT std::shared_ptr<token_node> token_child(const std::shared_ptr<token_node>& parent);
/// Cancels `n` and its subtree (see the file comment).
KYOTO_EXPORT void token_cancel(const std::shared_ptr<token_node>& n) noexcept;
/// The last handle of `n` is gone: unlinks it, re-parents its children.
KYOTO_EXPORT void token_release(const std::shared_ptr<token_node>& n) noexcept;

}  // namespace kyoto::detail

namespace kyoto::sync {

class cancellation_token;
class cancelled_awaiter;
class drop_guard;

/// A token for cooperative cancellation (tokio-util's CancellationToken).
///
/// Copyable: a copy is the same token (tokio's clone()); cancelling any
/// copy cancels them all. child_token() makes a new token that is
/// cancelled when this one is (transitively), but not the other way round.
/// A child whose handles are all gone leaves its parent, so children made
/// and dropped in a loop do not accumulate.
///
/// Thread safety: every member may be called from any thread, concurrently,
/// on the same or on different copies (one object is not assigned while
/// another thread uses it, as for any C++ value).
class cancellation_token {
 public:
  /// A new, uncancelled root token.
  cancellation_token()
      : node_(std::make_shared<kyoto::detail::token_node>(
            std::make_shared<kyoto::detail::token_tree_lock>())) {}
  /// Another handle to the same token (tokio's clone()).
  cancellation_token(const cancellation_token& o) noexcept : node_(o.node_) {
    // Relaxed: o is alive, so the count cannot reach zero meanwhile.
    node_->handles.fetch_add(1, std::memory_order_relaxed);
  }
  /// Takes `o`'s handle; `o` is left empty (only destroying or assigning it
  /// is allowed).
  cancellation_token(cancellation_token&& o) noexcept : node_(std::move(o.node_)) {}
  /// Makes this a handle to `o`'s token (copy-and-swap); the handle this
  /// held is dropped (not cancelled).
  cancellation_token& operator=(cancellation_token o) noexcept {
    std::swap(node_, o.node_);
    return *this;
  }
  /// Drops this handle; the last handle of a child unlinks it from its
  /// parent. Does not cancel (see drop_guard()).
  ~cancellation_token() { release(); }

  /// A new token that is cancelled whenever this one is (and at once if
  /// this one already is); cancelling the child leaves this one alone.
  /// Any thread; takes the tree's lock.
  [[nodiscard]] cancellation_token child_token() const {
    return cancellation_token(kyoto::detail::token_child(node_));
  }

  /// Cancels this token and all its descendants, and wakes every task
  /// waiting in cancelled() on any of them. Idempotent. Any thread; never
  /// waits on a waiter (takes the tree's lock).
  void cancel() const noexcept { kyoto::detail::token_cancel(node_); }

  /// Whether the token is cancelled (by cancel() on it or an ancestor).
  /// Lock-free.
  [[nodiscard]] bool is_cancelled() const noexcept {
    // Acquire: pairs with the release store in token_cancel(), so what the
    // canceller did before cancel() is visible after a true result.
    return node_->cancelled.load(std::memory_order_acquire);
  }

  /// `co_await token.cancelled()` completes when the token is cancelled; see
  /// cancelled_awaiter. Cancel safe; resumed on the awaiting task's thread.
  [[nodiscard]] inline class cancelled_awaiter cancelled() const noexcept;

  /// The same as cancelled(), taking this handle (tokio's cancelled_owned).
  [[nodiscard]] inline class cancelled_awaiter cancelled_owned() && noexcept;

  /// Awaits `op` unless the token is cancelled first (tokio-util 0.7.11's
  /// run_until_cancelled): `co_await t.run_until_cancelled(op)` gives
  /// std::optional holding op's value (std::monostate for void), or
  /// std::nullopt if the token was cancelled first, in which case `op` is
  /// destroyed (cancelled) before the await returns. Cancellation is
  /// checked first (biased), so a token already cancelled never runs `op`.
  /// The returned task holds a copy of the token and `op` (moved in; an
  /// lvalue operand is awaited in place and must outlive the task).
  /// Resumed on the awaiting task's thread.
  template <class A>
    requires kyoto::detail::awaitable<A>
  [[nodiscard]] auto run_until_cancelled(A&& op) const {
    using R = kyoto::detail::await_result_t<A>;
    using V = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
    return run_until<V, A>(*this, std::forward<A>(op));
  }

  /// An RAII guard holding a handle to this token, which cancels it when
  /// destroyed unless disarmed (tokio's DropGuard); see sync::drop_guard.
  [[nodiscard]] inline class drop_guard drop_guard() const;

  /// Whether two handles are the same token.
  friend bool operator==(const cancellation_token& a, const cancellation_token& b) noexcept {
    return a.node_ == b.node_;
  }

 private:
  friend class cancelled_awaiter;
  friend struct kyoto::detail::token_test_access;
  explicit cancellation_token(std::shared_ptr<kyoto::detail::token_node> n) noexcept
      : node_(std::move(n)) {}

  void release() noexcept {
    if (!node_) return;
    // Acq_rel: the last decrement must see every other handle's uses of the
    // node (pairs with their release decrements) before unlinking it.
    if (node_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      kyoto::detail::token_release(node_);
    }
    node_.reset();
  }

  template <class V, class A>
  static kyoto::task<std::optional<V>> run_until(cancellation_token token, A op);

  std::shared_ptr<kyoto::detail::token_node> node_;
};

/// Awaiter of `co_await token.cancelled()`: completes once the token is
/// cancelled (at once if it already is); gives void (tokio's
/// WaitForCancellationFuture).
///
/// Resumed on the awaiting task's thread; cancel() may run on any thread.
/// Cancel safe: destroying it while suspended unlinks it, and there is
/// nothing to lose. Holds a handle to the token, so it stays valid (and
/// linked to the token's ancestors) after the caller's handles are gone.
/// Movable until awaited.
class [[nodiscard]] cancelled_awaiter {
 public:
  /// Made by cancellation_token::cancelled(), not by users.
  explicit cancelled_awaiter(cancellation_token t) noexcept
      : token_(std::move(t)), notified_(token_.node_->waiters.notified()) {}
  /// Precondition: `o` was not awaited yet.
  cancelled_awaiter(cancelled_awaiter&& o) noexcept
      : token_(std::move(o.token_)), notified_(std::move(o.notified_)) {}
  cancelled_awaiter& operator=(cancelled_awaiter&&) = delete;

  /// True if the token is cancelled already; otherwise starts waiting for
  /// the notification (see the awaitable contract).
  bool await_ready() {
    // Acquire: pairs with the release store in token_cancel(); see the
    // file comment ("Waiting") for why the notified was made first.
    if (token_.node_->cancelled.load(std::memory_order_acquire)) return true;
    inner_.emplace(notified_);
    return inner_->await_ready();
  }
  /// Suspends until the token is cancelled; false if it was meanwhile.
  bool await_suspend(std::coroutine_handle<> h) {
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): await_ready() emplaced it
    return inner_->await_suspend(h);
  }
  /// Nothing: the token is cancelled.
  void await_resume() noexcept {
    if (inner_) inner_->await_resume();
  }

 private:
  cancellation_token token_;
  kyoto::sync::notified notified_;  // declared before inner_: outlives it
  std::optional<kyoto::sync::notified_awaiter> inner_;
};

/// Cancels its token when destroyed, unless disarm() was called (tokio's
/// DropGuard). Move-only. Thread safety: as any value; the cancel it
/// performs is thread-safe.
class drop_guard {
 public:
  /// Guards `t` (made by cancellation_token::drop_guard()).
  explicit drop_guard(cancellation_token t) noexcept : token_(std::move(t)) {}
  /// Takes over `o`'s token; `o` then cancels nothing.
  drop_guard(drop_guard&&) noexcept = default;
  drop_guard& operator=(drop_guard&&) = delete;
  drop_guard(const drop_guard&) = delete;
  drop_guard& operator=(const drop_guard&) = delete;
  /// Cancels the token unless disarmed (or moved from).
  ~drop_guard() {
    if (token_) token_->cancel();
  }

  /// Gives the token back without cancelling it. Precondition: not already
  /// disarmed (std::bad_optional_access otherwise).
  cancellation_token disarm() {
    if (!token_) throw std::bad_optional_access();
    cancellation_token t = std::move(*token_);
    token_.reset();
    return t;
  }

 private:
  std::optional<cancellation_token> token_;
};

inline cancelled_awaiter cancellation_token::cancelled() const noexcept {
  return cancelled_awaiter(*this);
}

inline cancelled_awaiter cancellation_token::cancelled_owned() && noexcept {
  return cancelled_awaiter(std::move(*this));
}

template <class V, class A>
kyoto::task<std::optional<V>> cancellation_token::run_until(cancellation_token token, A op) {
  // Defined here: cancelled_awaiter must be complete (Clang checks the
  // non-dependent call at the definition).
  auto r = co_await kyoto::select_biased(token.cancelled(), static_cast<A&&>(op));
  if (r.index() == 0) co_return std::nullopt;
  if constexpr (std::is_same_v<V, std::monostate>) {
    co_return std::optional<V>(std::in_place);
  } else {
    co_return std::optional<V>(std::move(std::get<1>(r)));
  }
}

inline drop_guard cancellation_token::drop_guard() const {
  return kyoto::sync::drop_guard(*this);
}

}  // namespace kyoto::sync
