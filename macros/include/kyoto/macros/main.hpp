// KYOTO_MAIN: an async main (tokio's #[tokio::main]).
//
//   KYOTO_MAIN() {                      // or KYOTO_MAIN(argc, argv)
//     co_await kyoto::time::sleep(10ms);
//     co_return;                        // or co_return kyoto::exit_code(3);
//   }
//
// The body is a kyoto::task<> run with block_on on a fresh runtime built by
// the builder given to KYOTO_MAIN_WITH (KYOTO_MAIN: a multi_thread runtime,
// one worker per core, as #[tokio::main]). The process exits with 0, the code given to
// kyoto::exit_code, or 1 if the body throws (the exception is printed to stderr).
//
// Why `co_return kyoto::exit_code(3)` and not `co_return 3`: C++ forbids a
// coroutine whose promise accepts both `co_return;` and `co_return value;`
// ([dcl.fct.def.coroutine]), and a main that returns nothing is by far the
// common case. exit_code() returns void, so `co_return exit_code(n);` is
// an ordinary `co_return;` that first records the code.
/// \file
/// KYOTO_MAIN and KYOTO_MAIN_WITH: an async main (tokio's #[tokio::main]);
/// see the comment at the top of this header.
#pragma once

#include <kyoto/runtime/runtime.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

namespace kyoto {

/// Records the exit code KYOTO_MAIN returns when its body finishes:
/// `co_return kyoto::exit_code(2);`. Thread-safe; the last call wins.
KYOTO_EXPORT void exit_code(int code) noexcept;

namespace detail {

/// Builds the runtime, runs body(argc, argv) on it, and returns the exit
/// code (see the file comment).
KYOTO_EXPORT int run_main(const runtime::builder& builder, task<> (*body)(int, char**), int argc,
                          char** argv) noexcept;

}  // namespace detail

}  // namespace kyoto

#define KYOTO_DETAIL_PICK3(a1, a2, name, ...) name
#define KYOTO_DETAIL_MAIN_PARAMS_0() \
  [[maybe_unused]] int kyoto_detail_argc, [[maybe_unused]] char **kyoto_detail_argv
#define KYOTO_DETAIL_MAIN_PARAMS_1(x) KYOTO_MAIN_takes_no_arguments_or_argc_and_argv x
// NOLINTBEGIN(bugprone-macro-parentheses): argc and argv are names, not expressions
#define KYOTO_DETAIL_MAIN_PARAMS_2(argc, argv) \
  [[maybe_unused]] int argc, [[maybe_unused]] char **argv
// NOLINTEND(bugprone-macro-parentheses)
#define KYOTO_DETAIL_MAIN_PARAMS(...)                                          \
  KYOTO_DETAIL_PICK3(__VA_ARGS__ __VA_OPT__(, ) KYOTO_DETAIL_MAIN_PARAMS_2,    \
                     KYOTO_DETAIL_MAIN_PARAMS_1, KYOTO_DETAIL_MAIN_PARAMS_0, ) \
  (__VA_ARGS__)

/// An async main run on the runtime `builder` makes:
/// `KYOTO_MAIN_WITH(kyoto::runtime::builder::current_thread()) { ... }`, or
/// with `, argc, argv` after the builder.
#define KYOTO_MAIN_WITH(builder, ...)                                                            \
  static ::kyoto::task<> kyoto_detail_main_body(KYOTO_DETAIL_MAIN_PARAMS(__VA_ARGS__));          \
  int main(int kyoto_detail_main_argc, char** kyoto_detail_main_argv) {                          \
    return ::kyoto::detail::run_main((builder), &kyoto_detail_main_body, kyoto_detail_main_argc, \
                                     kyoto_detail_main_argv);                                    \
  }                                                                                              \
  static ::kyoto::task<> kyoto_detail_main_body(KYOTO_DETAIL_MAIN_PARAMS(__VA_ARGS__))

/// An async main on a multi_thread runtime: `KYOTO_MAIN() { ... }` or
/// `KYOTO_MAIN(argc, argv) { ... }`.
#define KYOTO_MAIN(...) \
  KYOTO_MAIN_WITH(::kyoto::runtime::builder::multi_thread() __VA_OPT__(, ) __VA_ARGS__)
