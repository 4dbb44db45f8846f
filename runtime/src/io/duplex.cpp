// kyoto::io::duplex: see the protocol in <kyoto/io/duplex.hpp>.
#include <kyoto/io/duplex.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/runtime/yield_now.hpp>
#include <kyoto/sync/notify.hpp>

#include <kyoto/runtime/detail/coop.hpp>
#include <kyoto/runtime/detail/mutex.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace kyoto::detail {

/// One direction of a duplex pair: a ring buffer and the two ends' flags.
/// Every field below `lock` is guarded by it.
class duplex_pipe {
 public:
  explicit duplex_pipe(std::size_t capacity) : ring_(capacity) {}

  /// What a try gave: bytes moved, or that the caller must wait.
  struct outcome {
    std::size_t n;
    bool wait;
  };

  /// Reader side: takes at most buf.size() bytes. {0, false} is end of
  /// stream; {0, true} means wait on `readable`.
  outcome try_read(std::span<std::byte> buf) noexcept {
    std::size_t n = 0;
    {
      std::lock_guard guard(lock_);
      if (len_ == 0) return {0, !write_closed_};
      n = std::min(buf.size(), len_);
      const std::size_t first = std::min(n, ring_.size() - head_);
      std::memcpy(buf.data(), ring_.data() + head_, first);
      std::memcpy(buf.data() + first, ring_.data(), n - first);
      head_ = (head_ + n) % ring_.size();
      len_ -= n;
    }
    writable.notify_one();
    return {n, false};
  }

  /// Writer side: buffers at most buf.size() bytes. {0, true} means wait on
  /// `writable`. Throws a broken pipe if either end closed it.
  outcome try_write(std::span<const std::byte> buf) {
    std::size_t n = 0;
    {
      std::lock_guard guard(lock_);
      if (write_closed_ || read_closed_) {
        throw_io_error(EPIPE, "kyoto::io::duplex_stream::write");
      }
      const std::size_t room = ring_.size() - len_;
      if (room == 0) return {0, true};
      n = std::min(buf.size(), room);
      const std::size_t tail = (head_ + len_) % ring_.size();
      const std::size_t first = std::min(n, ring_.size() - tail);
      std::memcpy(ring_.data() + tail, buf.data(), first);
      std::memcpy(ring_.data(), buf.data() + first, n - first);
      len_ += n;
    }
    readable.notify_one();
    return {n, false};
  }

  /// The writing end shut down or was destroyed: reads drain, then end.
  void close_write() noexcept {
    {
      std::lock_guard guard(lock_);
      write_closed_ = true;
    }
    readable.notify_one();
    writable.notify_one();  // a write waiting on this end fails now
  }

  /// The reading end was destroyed: writes fail with a broken pipe.
  void close_read() noexcept {
    {
      std::lock_guard guard(lock_);
      read_closed_ = true;
    }
    writable.notify_one();
  }

  /// Data arrived or the writer closed (the reader waits on it).
  sync::notify readable;
  /// Room was freed or a side closed (the writer waits on it).
  sync::notify writable;

 private:
  mutex lock_;
  std::vector<std::byte> ring_;  ///< the buffer; its size is the capacity
  std::size_t head_ = 0;         ///< index of the first buffered byte
  std::size_t len_ = 0;          ///< bytes buffered
  bool write_closed_ = false;    ///< set once by close_write, never unset
  bool read_closed_ = false;     ///< set once by close_read, never unset
};

}  // namespace kyoto::detail

namespace kyoto::io {

duplex_stream& duplex_stream::operator=(duplex_stream&& o) noexcept {
  if (this != &o) {
    close();
    read_ = std::move(o.read_);
    write_ = std::move(o.write_);
  }
  return *this;
}

duplex_stream::~duplex_stream() {
  close();
}

void duplex_stream::close() noexcept {
  if (write_) write_->close_write();
  if (read_) read_->close_read();
}

task<std::size_t> duplex_stream::read(std::span<std::byte> buf) {
  if (!read_) throw std::logic_error("kyoto::io::duplex_stream::read: moved-from stream");
  if (buf.empty()) co_return 0;
  detail::duplex_pipe& pipe = *read_;
  // The budget (tokio's duplex is budgeted too): yield first when spent,
  // before taking anything, so a cancel during the yield loses nothing.
  if (!detail::coop_proceed()) co_await yield_now();
  for (;;) {
    const auto [n, wait] = pipe.try_read(buf);
    if (!wait) co_return n;
    co_await pipe.readable.notified();
  }
}

task<std::size_t> duplex_stream::write(std::span<const std::byte> buf) {
  if (!write_) throw std::logic_error("kyoto::io::duplex_stream::write: moved-from stream");
  if (buf.empty()) co_return 0;
  detail::duplex_pipe& pipe = *write_;
  // The budget (tokio's duplex is budgeted too): yield first when spent,
  // before taking anything, so a cancel during the yield loses nothing.
  if (!detail::coop_proceed()) co_await yield_now();
  for (;;) {
    const auto [n, wait] = pipe.try_write(buf);
    if (!wait) co_return n;
    co_await pipe.writable.notified();
  }
}

task<void> duplex_stream::flush() {
  co_return;
}

task<void> duplex_stream::shutdown() {
  if (write_) write_->close_write();
  co_return;
}

std::pair<duplex_stream, duplex_stream> duplex(std::size_t max_buf_size) {
  if (max_buf_size == 0) throw std::invalid_argument("kyoto::io::duplex: capacity must be > 0");
  auto one = std::make_shared<detail::duplex_pipe>(max_buf_size);
  auto two = std::make_shared<detail::duplex_pipe>(max_buf_size);
  return {duplex_stream(one, two), duplex_stream(two, one)};
}

}  // namespace kyoto::io
