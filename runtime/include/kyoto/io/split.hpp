// kyoto::io::split: a stream's read and write halves, usable from two tasks
// at once (tokio's io::split, ReadHalf, WriteHalf).
//
// The halves share the stream through a std::shared_ptr: it lives until
// both halves are gone (or unsplit puts it back together). Unlike tokio,
// which takes a lock around each poll, a C++ awaiter cannot hold a lock
// across its suspension without blocking the other half; so the halves
// call the stream directly, and the rule is the stream's own: **split is
// only for a stream that allows one read and one write in flight at the
// same time** (kyoto's sockets, io::duplex_stream, io::buf_reader /
// buf_writer over such a stream, and the test mock do; docs/io.md).
#pragma once

#include <kyoto/io/concepts.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kyoto::io {

template <class S>
class write_half;

/// The reading half of a split stream (tokio's io::ReadHalf): `read`
/// forwards to the stream's. Move-only. One read at a time; it may run
/// while the write half writes, from another task or worker, if the stream
/// allows that (see the file comment). Cancel safety: the stream's.
template <class S>
class read_half {
 public:
  /// Takes the other half's share; it is left empty.
  read_half(read_half&&) noexcept = default;
  /// Drops this share and takes the other's.
  read_half& operator=(read_half&&) noexcept = default;
  read_half(const read_half&) = delete;
  read_half& operator=(const read_half&) = delete;

  /// Reads from the stream: `co_await half.read(buf)`, as the stream's read.
  auto read(std::span<std::byte> buf) { return s_->read(buf); }

  /// Whether `w` is the other half of the same split (tokio's is_pair_of).
  [[nodiscard]] bool is_pair_of(const write_half<S>& w) const noexcept { return s_ == w.s_; }

  /// Puts the stream back together (tokio's unsplit): gives the stream,
  /// moved out of the shared state. Both halves are left empty. Throws
  /// std::logic_error if `w` is not this half's pair (tokio panics).
  S unsplit(write_half<S>&& w) && {
    if (!is_pair_of(w)) {
      throw std::logic_error(
          "kyoto::io::read_half::unsplit: the halves come from different splits");
    }
    std::shared_ptr<S> s = std::move(s_);
    w.s_.reset();
    return S(std::move(*s));
  }

 private:
  template <class T>
  friend std::pair<read_half<T>, write_half<T>> split(T stream);
  template <class T>
  friend class write_half;
  explicit read_half(std::shared_ptr<S> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<S> s_;
};

/// The writing half of a split stream (tokio's io::WriteHalf): `write`,
/// `flush` and `shutdown` forward to the stream's. Move-only; one write at
/// a time, possibly alongside the read half's read (see the file comment).
/// Cancel safety: the stream's.
template <class S>
class write_half {
 public:
  /// Takes the other half's share; it is left empty.
  write_half(write_half&&) noexcept = default;
  /// Drops this share and takes the other's.
  write_half& operator=(write_half&&) noexcept = default;
  write_half(const write_half&) = delete;
  write_half& operator=(const write_half&) = delete;

  /// Writes to the stream: `co_await half.write(buf)`.
  auto write(std::span<const std::byte> buf) { return s_->write(buf); }
  /// Flushes the stream.
  auto flush() { return s_->flush(); }
  /// Shuts the stream's writing down (the peer reads end of stream).
  auto shutdown() { return s_->shutdown(); }

  /// Whether `r` is the other half of the same split.
  [[nodiscard]] bool is_pair_of(const read_half<S>& r) const noexcept { return s_ == r.s_; }

 private:
  template <class T>
  friend std::pair<read_half<T>, write_half<T>> split(T stream);
  template <class T>
  friend class read_half;
  explicit write_half(std::shared_ptr<S> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<S> s_;
};

/// Splits `stream` into a read half and a write half that can be used from
/// two tasks, even on different workers, at the same time (tokio's
/// io::split). The stream is moved into shared state; it is destroyed when
/// both halves are, or given back by `std::move(rd).unsplit(std::move(wr))`.
///
/// Precondition: `S` allows one read and one write in flight at once (see
/// the file comment). A reference type (`split<tcp_stream&>(s)`) shares a
/// stream that outlives both halves instead of moving it.
template <class S>
std::pair<read_half<S>, write_half<S>> split(S stream) {
  static_assert(async_read<S> && async_write<S>, "kyoto::io::split needs a read/write stream");
  auto shared = std::make_shared<S>(std::move(stream));
  return {read_half<S>(shared), write_half<S>(shared)};
}

}  // namespace kyoto::io
