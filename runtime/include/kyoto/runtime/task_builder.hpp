// kyoto::task_builder: spawn a task with a name (tokio::task::Builder).
#pragma once

#include <kyoto/runtime/join_handle.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/task_header.hpp>

#include <memory>
#include <source_location>
#include <string>
#include <utility>

namespace kyoto {

/// Spawns tasks with a name (tokio::task::Builder), which the runtime's
/// task hooks (task_meta::name) and dumps show:
///
///     auto h = kyoto::task_builder{}.name("accept loop").spawn(accept_loop, listener);
///
/// Otherwise spawn() is kyoto::spawn: same overloads, errors and
/// recorded spawn location. A builder may spawn many tasks; each gets a
/// copy of the name. An unnamed builder spawns exactly as kyoto::spawn
/// (no allocation for the name).
///
/// Thread safety: a value; spawn() from a runtime thread, as kyoto::spawn.
class task_builder {
 public:
  /// A builder with no name.
  task_builder() = default;

  /// Names the tasks spawned from here on (tokio's Builder::name).
  task_builder& name(std::string n) & {
    name_ = std::move(n);
    return *this;
  }
  /// As above, on a temporary builder.
  task_builder&& name(std::string n) && {
    name_ = std::move(n);
    return std::move(*this);
  }

  /// The name given, or empty.
  const std::string& name() const& noexcept { return name_; }

  /// kyoto::spawn(t) with this builder's name.
  template <class T>
  join_handle<T> spawn(task<T> t,
                       detail::call_site site = detail::call_site(std::source_location::current(),
                                                                  {})) const {
    // The name's block passes to the task cell (see the overload below).
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDeleteLeaks)
    return detail::spawn_at(scheduler(), make_site(site), std::move(t));
  }

  /// kyoto::spawn(f) with this builder's name.
  template <class F>
    requires detail::task_factory<F>
  auto spawn(F&& f, detail::call_site site = detail::call_site(std::source_location::current(),
                                                               {})) const {
    // The name's block passes to the task cell (see the overload below).
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDeleteLeaks)
    return detail::spawn_at(scheduler(), make_site(site), std::forward<F>(f));
  }

  /// kyoto::spawn(f, a1) with this builder's name.
  template <class F, class A1>
    requires detail::task_factory<F, A1>
  auto spawn(F&& f, A1&& a1,
             detail::call_site site = detail::call_site(std::source_location::current(),
                                                        {})) const {
    // The name's block passes to the task cell, which frees it (a tagged
    // pointer the analyzer cannot follow: task_header::set_identity).
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDeleteLeaks)
    return detail::spawn_at(scheduler(), make_site(site), std::forward<F>(f), std::forward<A1>(a1));
  }

  /// kyoto::spawn(f, a1, a2) with this builder's name.
  template <class F, class A1, class A2>
    requires detail::task_factory<F, A1, A2>
  auto spawn(F&& f, A1&& a1, A2&& a2,
             detail::call_site site = detail::call_site(std::source_location::current(),
                                                        {})) const {
    // As above: the name's block passes to the task cell.
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDeleteLeaks)
    return detail::spawn_at(scheduler(), make_site(site), std::forward<F>(f), std::forward<A1>(a1),
                            std::forward<A2>(a2));
  }

  /// kyoto::spawn(f, a1, a2, a3) with this builder's name.
  template <class F, class A1, class A2, class A3>
    requires detail::task_factory<F, A1, A2, A3>
  auto spawn(F&& f, A1&& a1, A2&& a2, A3&& a3,
             detail::call_site site = detail::call_site(std::source_location::current(),
                                                        {})) const {
    // As above: the name's block passes to the task cell.
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDeleteLeaks)
    return detail::spawn_at(scheduler(), make_site(site), std::forward<F>(f), std::forward<A1>(a1),
                            std::forward<A2>(a2), std::forward<A3>(a3));
  }

  /// Four or more arguments do not compile, as for kyoto::spawn: bind them
  /// in a lambda.
  template <class F, class A1, class A2, class A3, class A4, class... Rest>
  void spawn(F&&, A1&&, A2&&, A3&&, A4&&, Rest&&...) const {
    static_assert(detail::spawn_arity_error<F>,
                  "kyoto::task_builder::spawn(f, args...) takes at most three arguments after "
                  "f, so that it can record where it was called from: bind the arguments in a "
                  "lambda, e.g. builder.spawn([=] { return f(a, b, c, d); })");
  }

 private:
  static detail::scheduler& scheduler() {
    return detail::current_scheduler("kyoto::task_builder::spawn");
  }

  detail::spawn_site make_site(detail::call_site site) const {
    if (name_.empty()) return {site.location, {}};
    return {site.location, std::make_unique<detail::named_site>(name_, site.location)};
  }

  std::string name_;
};

}  // namespace kyoto
