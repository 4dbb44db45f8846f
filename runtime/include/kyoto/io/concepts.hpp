// kyoto::io::async_read and async_write: what a type needs for kyoto::io's
// utilities (tokio's AsyncRead and AsyncWrite traits).
//
// # Why concepts and not a base class
//
// tokio's utilities are generic over traits; kyoto's are templates over
// these concepts, so the read and write of each stream stay its own
// awaiters (a tcp_stream's read is a recv_awaiter, not a virtual call
// returning a task) and a user type takes part by having the members, with
// no registration. The concepts check the shape only: what a read of 0
// bytes means, or whether an operation is cancel safe, is each type's
// documented contract (see docs/io.md).
#pragma once

#include <kyoto/runtime/detail/awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <span>

namespace kyoto::io {

/// A source of bytes (tokio's AsyncRead): `co_await r.read(buf)` reads at
/// most `buf.size()` bytes into `buf` and gives how many, as something
/// convertible to std::size_t; 0 means end of stream (or an empty `buf`).
/// Errors are thrown (std::system_error by convention).
///
/// Satisfied by net::tcp_stream, net::tcp_read_half, io::buf_reader and any
/// user type with such a member (a `task<std::size_t>` coroutine will do).
/// A reference type R& satisfies it when R does.
template <class R>
concept async_read = requires(R& r, std::span<std::byte> buf) {
  requires detail::awaitable<decltype(r.read(buf))>;
  requires std::convertible_to<detail::await_result_t<decltype(r.read(buf))>, std::size_t>;
};

/// A sink of bytes (tokio's AsyncWrite): `co_await w.write(buf)` writes
/// some of `buf` and gives how many bytes were taken (convertible to
/// std::size_t; 0 for a non-empty `buf` means the writer can take no more);
/// `co_await w.flush()` pushes out anything the writer buffers;
/// `co_await w.shutdown()` flushes and ends the stream (the peer reads end
/// of stream). Errors are thrown (std::system_error by convention).
///
/// Satisfied by net::tcp_stream, net::tcp_write_half, io::buf_writer and
/// any user type with such members. A reference type W& satisfies it when
/// W does.
template <class W>
concept async_write = requires(W& w, std::span<const std::byte> buf) {
  requires detail::awaitable<decltype(w.write(buf))>;
  requires std::convertible_to<detail::await_result_t<decltype(w.write(buf))>, std::size_t>;
  requires detail::awaitable<decltype(w.flush())>;
  requires detail::awaitable<decltype(w.shutdown())>;
};

}  // namespace kyoto::io
