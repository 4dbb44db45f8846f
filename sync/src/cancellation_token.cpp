// The cancellation tree's structure changes; the protocol is written at the
// top of <kyoto/sync/cancellation_token.hpp>.
#include <kyoto/sync/cancellation_token.hpp>

#include <mutex>
#include <vector>

namespace kyoto::detail {

namespace {

/// Removes `n` from its parent's children (swap-remove). Precondition: the
/// tree lock is held and `n` has a parent.
void unlink_from_parent(token_node* n) noexcept {
  std::vector<std::shared_ptr<token_node>>& siblings = n->parent->children;
  const std::size_t i = n->index_in_parent;
  if (i + 1 != siblings.size()) {
    siblings[i] = std::move(siblings.back());
    siblings[i]->index_in_parent = i;
  }
  siblings.pop_back();
  n->parent.reset();
}

}  // namespace

std::shared_ptr<token_node> token_child(const std::shared_ptr<token_node>& parent) {
  std::lock_guard<mutex> g(parent->lock->m);
  // Relaxed: under the tree lock, which cancel() holds when it sets the
  // flag, so the lock orders it.
  if (parent->cancelled.load(std::memory_order_relaxed)) {
    // Invariant (2): nothing links to a cancelled node. A cancelled root of
    // its own tree.
    auto child = std::make_shared<token_node>(std::make_shared<token_tree_lock>());
    child->cancelled.store(true, std::memory_order_relaxed);  // not yet shared
    return child;
  }
  auto child = std::make_shared<token_node>(parent->lock);
  child->parent = parent;
  child->index_in_parent = parent->children.size();
  parent->children.push_back(child);  // may throw bad_alloc: nothing linked yet
  return child;
}

void token_cancel(const std::shared_ptr<token_node>& n) noexcept {
  // Keep the lock object alive: unlinking may free nodes.
  const std::shared_ptr<token_tree_lock> lock = n->lock;
  std::lock_guard<mutex> g(lock->m);
  if (n->cancelled.load(std::memory_order_relaxed)) return;  // ordered by the lock
  if (n->parent) unlink_from_parent(n.get());
  // Depth-first over the subtree, detaching as we go (invariant (2)).
  std::vector<std::shared_ptr<token_node>> stack;
  stack.push_back(n);
  while (!stack.empty()) {
    std::shared_ptr<token_node> cur = std::move(stack.back());
    stack.pop_back();
    // Release: publishes the canceller's writes to is_cancelled() and
    // cancelled_awaiter::await_ready() (their acquire loads); notify_waiters
    // below makes the waiting side's notified complete (file comment).
    cur->cancelled.store(true, std::memory_order_release);
    cur->waiters.notify_waiters();
    for (std::shared_ptr<token_node>& c : cur->children) {
      c->parent.reset();
      stack.push_back(std::move(c));
    }
    cur->children.clear();
  }
}

void token_release(const std::shared_ptr<token_node>& n) noexcept {
  const std::shared_ptr<token_tree_lock> lock = n->lock;
  std::lock_guard<mutex> g(lock->m);
  std::shared_ptr<token_node> parent = n->parent;  // may be null (a root)
  if (parent) unlink_from_parent(n.get());
  // The children move up to the grandparent (or become roots): they keep
  // being cancelled by the rest of the tree, and n leaves no cycle behind.
  for (std::shared_ptr<token_node>& c : n->children) {
    if (parent) {
      c->parent = parent;
      c->index_in_parent = parent->children.size();
      parent->children.push_back(std::move(c));  // bad_alloc terminates (noexcept)
    } else {
      c->parent.reset();
    }
  }
  n->children.clear();
}

}  // namespace kyoto::detail
