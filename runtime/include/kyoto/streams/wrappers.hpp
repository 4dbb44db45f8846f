// kyoto::streams' wrappers: kyoto's receivers, intervals, listeners and
// readers as async_streams (tokio-stream's wrappers module).
//
// Each wrapper owns what it wraps (`into_inner()` gives it back) and
// gives items through `co_await w.next()`. Cancel safety is that of the
// wrapped operation, which for every one here is cancel safe: a cancelled
// next() has taken nothing (a value stays in the channel, a connection in
// the listener, a line's bytes in the reader).
#pragma once

#include <kyoto/fs/read_dir.hpp>
#include <kyoto/io/buf_reader.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/net/unix_listener.hpp>
#include <kyoto/net/unix_stream.hpp>
#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/sync/broadcast.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/watch.hpp>
#include <kyoto/time/interval.hpp>

#include <optional>
#include <string>
#include <utility>

namespace kyoto::streams {

/// An mpsc receiver as a stream (tokio's ReceiverStream): next() is
/// `rx.recv()`, nullopt once every sender is gone and the buffer drained.
///
/// Thread safety: one task at a time. Cancel safety: cancel safe (recv()).
template <class T>
class receiver_stream {
 public:
  /// Reads from `rx`.
  explicit receiver_stream(sync::mpsc::receiver<T> rx) noexcept : rx_(std::move(rx)) {}
  /// `co_await next()`: the next value, or nullopt at the end.
  auto next() { return rx_.recv(); }
  /// Closes the receiving half (the buffered values are still given).
  void close() { rx_.close(); }
  /// The receiver back.
  sync::mpsc::receiver<T> into_inner() && noexcept { return std::move(rx_); }

 private:
  sync::mpsc::receiver<T> rx_;
};

/// An unbounded mpsc receiver as a stream (tokio's UnboundedReceiverStream);
/// as receiver_stream.
template <class T>
class unbounded_receiver_stream {
 public:
  /// Reads from `rx`.
  explicit unbounded_receiver_stream(sync::mpsc::unbounded_receiver<T> rx) noexcept
      : rx_(std::move(rx)) {}
  /// `co_await next()`: the next value, or nullopt at the end.
  auto next() { return rx_.recv(); }
  /// Closes the receiving half (the buffered values are still given).
  void close() { rx_.close(); }
  /// The receiver back.
  sync::mpsc::unbounded_receiver<T> into_inner() && noexcept { return std::move(rx_); }

 private:
  sync::mpsc::unbounded_receiver<T> rx_;
};

/// A broadcast receiver as a stream (tokio's BroadcastStream): each value
/// as a `result<T, sync::broadcast::recv_error>`; a lag is an error item
/// (`is_lagged()`, `skipped()`) and the stream goes on; it ends when the
/// channel is closed.
///
/// Thread safety: one task at a time. Cancel safety: cancel safe.
template <class T>
class broadcast_stream {
 public:
  /// Each item: a value, or a recv_error saying values were skipped.
  using item_type = kyoto::result<T, sync::broadcast::recv_error>;

  /// Reads from `rx`.
  explicit broadcast_stream(sync::broadcast::receiver<T> rx) : s_(run(std::move(rx))) {}
  /// `co_await next()`: the next value or lag, or nullopt once closed.
  auto next() { return s_.next(); }

 private:
  static stream<item_type> run(sync::broadcast::receiver<T> rx) {
    for (;;) {
      auto r = co_await rx.recv();
      if (r.has_value()) {
        co_yield item_type(std::move(*r));
      } else if (r.error().is_lagged()) {
        co_yield item_type(kyoto::unexpected(r.error()));
      } else {
        co_return;
      }
    }
  }
  stream<item_type> s_;
};

/// A watch receiver as a stream (tokio's WatchStream): the current value
/// first, then a copy of the value after each change (changes made between
/// two next() calls are seen once); ends when the sender is gone.
/// `from_changes` skips the current value (tokio's from_changes).
///
/// Thread safety: one task at a time. Cancel safety: cancel safe.
template <class T>
class watch_stream {
 public:
  /// Reads from `rx`, starting with its current value.
  explicit watch_stream(sync::watch::receiver<T> rx) : s_(run(std::move(rx), true)) {}
  /// The values after the current one.
  static watch_stream from_changes(sync::watch::receiver<T> rx) {
    return watch_stream(run(std::move(rx), false));
  }
  /// `co_await next()`: the next value seen, or nullopt at the end.
  auto next() { return s_.next(); }

 private:
  explicit watch_stream(stream<T> s) noexcept : s_(std::move(s)) {}
  static stream<T> run(sync::watch::receiver<T> rx, bool initial) {
    if (initial) {
      T first = *rx.borrow_and_update();  // the guard is gone before co_yield
      co_yield std::move(first);
    }
    for (;;) {
      auto r = co_await rx.changed();
      if (!r.has_value()) co_return;
      T v = *rx.borrow_and_update();
      co_yield std::move(v);
    }
  }
  stream<T> s_;
};

/// An interval as a never-ending stream of tick instants (tokio's
/// IntervalStream).
///
/// Thread safety: one task at a time; must outlive its next() tasks.
/// Cancel safety: cancel safe (tick()).
class interval_stream {
 public:
  /// Ticks `iv`.
  explicit interval_stream(time::interval iv) noexcept : iv_(std::move(iv)) {}
  /// `co_await next()`: the next tick's scheduled instant.
  task<std::optional<time::instant>> next() {
    const time::instant t = co_await iv_.tick();
    co_return std::optional<time::instant>(t);
  }
  /// The interval back.
  time::interval into_inner() && noexcept { return std::move(iv_); }

 private:
  time::interval iv_;
};

/// The lines of a buf_reader as a stream (tokio's LinesStream): each line
/// without its "\n"; errors are thrown by next(), as next_line() throws
/// them, and the stream goes on.
///
/// Thread safety: one task at a time; must outlive its next() tasks.
/// Cancel safety: cancel safe (next_line()).
template <class R>
class lines_stream {
 public:
  /// Reads `lines`.
  explicit lines_stream(io::lines<R> lines) noexcept(
      std::is_nothrow_move_constructible_v<io::lines<R>>)
      : lines_(std::move(lines)) {}
  /// `co_await next()`: the next line, or nullopt at the end.
  task<std::optional<std::string>> next() { return lines_.next_line(); }
  /// The lines back.
  io::lines<R> into_inner() && { return std::move(lines_); }

 private:
  io::lines<R> lines_;
};

/// A directory's entries as a stream (tokio's ReadDirStream).
///
/// Thread safety: one task at a time; must outlive its next() tasks.
/// Cancel safety: cancel safe (next_entry()).
class read_dir_stream {
 public:
  /// Reads `dir`.
  explicit read_dir_stream(fs::read_dir_stream dir) noexcept : dir_(std::move(dir)) {}
  /// `co_await next()`: the next entry, or nullopt at the end.
  task<std::optional<fs::dir_entry>> next() { return dir_.next_entry(); }
  /// The directory back.
  fs::read_dir_stream into_inner() && noexcept { return std::move(dir_); }

 private:
  fs::read_dir_stream dir_;
};

/// A TCP listener as a never-ending stream of accepted connections
/// (tokio's TcpListenerStream); accept errors are thrown by next().
///
/// Thread safety: one task at a time; must outlive its next() tasks.
/// Cancel safety: cancel safe (a cancelled accept keeps its connection).
class tcp_listener_stream {
 public:
  /// Accepts on `l`.
  explicit tcp_listener_stream(net::tcp_listener l) noexcept : l_(std::move(l)) {}
  /// `co_await next()`: the next connection.
  task<std::optional<net::tcp_stream>> next() {
    auto accepted = co_await l_.accept();
    co_return std::optional<net::tcp_stream>(std::move(accepted.first));
  }
  /// The listener back.
  net::tcp_listener into_inner() && noexcept { return std::move(l_); }

 private:
  net::tcp_listener l_;
};

/// A Unix listener as a never-ending stream of accepted connections
/// (tokio's UnixListenerStream); as tcp_listener_stream.
class unix_listener_stream {
 public:
  /// Accepts on `l`.
  explicit unix_listener_stream(net::unix_listener l) noexcept : l_(std::move(l)) {}
  /// `co_await next()`: the next connection.
  task<std::optional<net::unix_stream>> next() {
    auto accepted = co_await l_.accept();
    co_return std::optional<net::unix_stream>(std::move(accepted.first));
  }
  /// The listener back.
  net::unix_listener into_inner() && noexcept { return std::move(l_); }

 private:
  net::unix_listener l_;
};

}  // namespace kyoto::streams
