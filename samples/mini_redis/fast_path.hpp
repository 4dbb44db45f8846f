// Beyond upstream, for speed only: GET and SET read straight from the
// connection's read buffer.
//
// Upstream checks a frame, parses it into a Frame (a Vec of Bytes), parses
// that into a Command, then applies it: two passes over the bytes and an
// allocation per frame. The requests redis-benchmark and most clients send
// are the two simplest frames there are,
//
//   *2\r\n$3\r\nGET\r\n$<n>\r\n<key>\r\n
//   *3\r\n$3\r\nSET\r\n$<n>\r\n<key>\r\n$<m>\r\n<value>\r\n
//
// (the command name in any case), and apply_fast() applies exactly those in
// one pass, with the key looked up in place and only a SET's value copied.
// Anything else, and anything it is not sure of (a key that is not plain
// ASCII, a length with a sign or a leading zero, a frame not whole yet), it
// leaves to the general path, which gives upstream's reply or error: the
// replies are the same bytes either way (tests/mini_redis/ compare both).
#pragma once

#include "connection.hpp"
#include "db.hpp"

#include <cstddef>
#include <span>

namespace mini_redis {

/// Applies the GET or SET request at the front of `buf`, if it is one of
/// the two shapes above and whole, buffering its reply on `dst`. Gives the
/// bytes it consumed: 0 when it left the request to the general path
/// (then nothing was applied or buffered).
///
/// Thread safety: as db and connection. Never suspends; never throws but
/// std::bad_alloc.
std::size_t apply_fast(std::span<const std::byte> buf, db& store, connection& dst);

}  // namespace mini_redis
