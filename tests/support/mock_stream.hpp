// Test helper: a scripted stream for kyoto::io's tests (tokio_test's
// io::Builder mock, reduced).
#pragma once

#include <kyoto/io.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/runtime/yield_now.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace kyoto::test {

/// A scripted stream: a reduced tokio_test::io::Builder mock, and a user
/// type that satisfies io::async_read and io::async_write. Reads give the
/// scripted chunks in order (a chunk larger than the buffer is split
/// across reads), then end of stream; a scripted error is thrown when its
/// turn comes. Writes are recorded; each takes what its scripted step
/// allows (everything, at most n bytes, or an error).
class mock_stream {
 public:
  /// The next unscripted read gives `chunk` ("" gives a 0-byte read).
  mock_stream& then_read(std::string_view chunk) {
    reads_.push_back(step{std::string(chunk), {}, {}, 0});
    return *this;
  }
  /// The next unscripted read throws std::system_error(e, what).
  mock_stream& then_read_error(std::errc e, std::string_view what) {
    reads_.push_back(step{{}, std::make_error_code(e), std::string(what), 0});
    return *this;
  }
  /// The next unscripted write takes at most `n` bytes.
  mock_stream& then_write(std::size_t n) {
    writes_.push_back(step{{}, {}, {}, n});
    return *this;
  }
  /// The next unscripted write throws std::system_error(e, what).
  mock_stream& then_write_error(std::errc e, std::string_view what) {
    writes_.push_back(step{{}, std::make_error_code(e), std::string(what), 0});
    return *this;
  }
  /// Writes beyond the script take at most `n` bytes (default: all).
  mock_stream& max_write(std::size_t n) {
    max_write_ = n;
    return *this;
  }
  /// Every operation first yields to the scheduler, so the awaiting
  /// coroutine really suspends (tokio's MaybePending readers and writers).
  mock_stream& yielding() {
    yielding_ = true;
    return *this;
  }

  kyoto::task<std::size_t> read(std::span<std::byte> buf) {
    ++read_calls;
    largest_read = std::max(largest_read, buf.size());
    if (yielding_) co_await kyoto::yield_now();
    if (reads_.empty()) co_return 0;
    step& s = reads_.front();
    if (s.error) {
      const std::system_error e(s.error, s.what);
      reads_.pop_front();
      throw e;
    }
    const std::size_t n = std::min(buf.size(), s.data.size());
    std::memcpy(buf.data(), s.data.data(), n);
    s.data.erase(0, n);
    if (s.data.empty()) reads_.pop_front();
    co_return n;
  }

  kyoto::task<std::size_t> write(std::span<const std::byte> buf) {
    ++write_calls;
    if (yielding_) co_await kyoto::yield_now();
    if (shut_down) throw std::system_error(std::make_error_code(std::errc::broken_pipe), "mock");
    std::size_t limit = max_write_;
    if (!writes_.empty()) {
      const step s = writes_.front();
      writes_.pop_front();
      if (s.error) throw std::system_error(s.error, s.what);
      limit = s.limit;
    }
    const std::size_t n = std::min(buf.size(), limit);
    written.append(reinterpret_cast<const char*>(buf.data()), n);
    co_return n;
  }

  kyoto::task<void> flush() {
    ++flush_calls;
    co_return;
  }

  kyoto::task<void> shutdown() {
    shut_down = true;
    co_return;
  }

  std::string written;           ///< every byte written, in order
  int read_calls = 0;            ///< read() calls
  int write_calls = 0;           ///< write() calls
  int flush_calls = 0;           ///< flush() calls
  bool shut_down = false;        ///< shutdown() was called
  std::size_t largest_read = 0;  ///< the largest buffer a read was given

 private:
  struct step {
    std::string data;       ///< a read's bytes
    std::error_code error;  ///< if set: throw
    std::string what;       ///< the error's message
    std::size_t limit;      ///< a write's maximum
  };
  std::deque<step> reads_;
  std::deque<step> writes_;
  std::size_t max_write_ = static_cast<std::size_t>(-1);
  bool yielding_ = false;
};

static_assert(kyoto::io::async_read<mock_stream> && kyoto::io::async_write<mock_stream>);

}  // namespace kyoto::test
