// kyoto::test::io_builder: a scripted mock stream for tests (tokio_test's
// io::Builder and io::Mock).
//
//   auto mock = kyoto::test::io_builder().read("hello ").write("ping").read("world").build();
//
// The mock plays the script in order: reads give the scripted read bytes
// (at most the caller's buffer; a longer scripted read spans several reads),
// writes are checked against the scripted write bytes, scripted errors are
// thrown, and waits pause. When the script is used up, reads give end of
// stream and writes fail. A write that differs from the script, or a
// script left unfinished when the mock is destroyed, throws
// kyoto::test::io_mock_error saying what was expected and what came, so a
// KYOTO_TEST (or any test framework) reports it.
//
// # Ordering (as tokio_test's)
//
// A read waits while a write (or write error) comes first in the script:
// another task must write first. A write skips read actions ahead of it
// (writes may run ahead of reads) but not a wait. A wait action is slept
// through by whichever operation reaches it first.
/// \namespace kyoto::test
/// Test utilities: io_builder, a scripted mock stream (tokio_test).
#pragma once

#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace kyoto::detail {
struct io_mock_state;
struct io_mock_action;
}  // namespace kyoto::detail

namespace kyoto::test {

/// Thrown by the mock when the stream's use differs from its script: an
/// unexpected or mismatched write, or actions left at destruction. The
/// message names the action (its 1-based position in the script), what it
/// expected and what came.
class KYOTO_EXPORT io_mock_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class io_builder;

/// The stream io_builder::build() makes (tokio_test's io::Mock): an
/// io::async_read and io::async_write playing its script (see the file
/// comment).
///
/// - `read(buf)` gives the next scripted read bytes (at most buf.size()),
///   throws the next scripted read error as std::system_error, or gives 0
///   once the script has nothing left.
/// - `write(buf)` compares `buf` with the next scripted write and takes the
///   matching prefix (at most the scripted write's length); throws
///   io_mock_error on a difference or if no write is scripted, and the
///   next scripted write error as std::system_error.
/// - `flush()` and `shutdown()` do nothing.
///
/// Destruction: if scripted read or write bytes are left (and no exception
/// is already unwinding), the destructor throws io_mock_error listing them
/// (tokio_test panics). Its destructor is therefore noexcept(false).
///
/// Thread safety: one read and one write may be in flight at once, from
/// any tasks or workers (io::split works). Cancel safety: a cancelled read
/// or write consumes nothing of the script.
class KYOTO_EXPORT io_mock {
 public:
  /// Takes `o`'s script; `o` is left moved-from (and checks nothing).
  io_mock(io_mock&& o) noexcept;
  /// Checks this mock's script as the destructor does, then takes `o`'s.
  io_mock& operator=(io_mock&& o) noexcept(false);
  io_mock(const io_mock&) = delete;
  io_mock& operator=(const io_mock&) = delete;
  /// Throws io_mock_error if scripted reads or writes were not consumed
  /// (unless an exception is unwinding).
  ~io_mock() noexcept(false);

  /// The next scripted read (see the class comment).
  task<std::size_t> read(std::span<std::byte> buf);
  /// Checks `buf` against the next scripted write (see the class comment).
  task<std::size_t> write(std::span<const std::byte> buf);
  /// Does nothing.
  task<void> flush();
  /// Does nothing.
  task<void> shutdown();

  /// Whether every scripted read and write was consumed.
  [[nodiscard]] bool is_done() const;

 private:
  friend class io_builder;
  explicit io_mock(std::vector<detail::io_mock_action> script);
  void check_done();

  std::unique_ptr<detail::io_mock_state> s_;
  int uncaught_ = 0;  ///< std::uncaught_exceptions() at construction
};

/// Scripts an io_mock (tokio_test's io::Builder). Each call appends one
/// action and returns the builder, so calls chain; build() may be called
/// several times, each mock playing the whole script.
class KYOTO_EXPORT io_builder {
 public:
  /// An empty script.
  io_builder();
  /// Copies the script.
  io_builder(const io_builder&);
  /// Takes the script.
  io_builder(io_builder&&) noexcept;
  /// Copies the script.
  io_builder& operator=(const io_builder&);
  /// Takes the script.
  io_builder& operator=(io_builder&&) noexcept;
  ~io_builder();

  /// A read giving `data` (over as many reads as the callers' buffers need).
  io_builder& read(std::span<const std::byte> data);
  /// A read giving the characters of `data`.
  io_builder& read(std::string_view data);
  /// A write expected to be exactly `data` (over as many writes as needed).
  io_builder& write(std::span<const std::byte> data);
  /// A write expected to be the characters of `data`.
  io_builder& write(std::string_view data);
  /// A read that throws std::system_error(`ec`).
  io_builder& read_error(std::error_code ec);
  /// A read that throws std::system_error of an error enum
  /// (std::errc::connection_reset, io::errc::unexpected_eof, ...).
  template <class E>
    requires std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>
  io_builder& read_error(E e) {
    using std::make_error_code;
    return read_error(std::error_code(make_error_code(e)));
  }
  /// A write that throws std::system_error(`ec`).
  io_builder& write_error(std::error_code ec);
  /// A write that throws std::system_error of an error enum.
  template <class E>
    requires std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>
  io_builder& write_error(E e) {
    using std::make_error_code;
    return write_error(std::error_code(make_error_code(e)));
  }
  /// A pause of `d` (from when an operation first reaches it), on
  /// kyoto::time (so paused time advances through it).
  io_builder& wait(std::chrono::nanoseconds d);

  /// A mock playing the script.
  [[nodiscard]] io_mock build() const;

 private:
  std::vector<detail::io_mock_action> script_;
};

}  // namespace kyoto::test
