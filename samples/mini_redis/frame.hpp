// mini-redis's frame module (upstream src/frame.rs): a RESP frame, and the
// two passes that read one from a byte buffer.
//
// Reading is split as upstream's: check() walks the bytes with a cursor and
// says whether one whole frame is there (complete, incomplete, or invalid)
// without allocating anything; only then does parse() build the frame. A
// connection calls check() after every read, so incomplete input costs a
// scan of the frame's headers, not an allocation.
//
// Limits (upstream has none; see docs/mini_redis.md): a frame is at most
// max_frame_size bytes on the wire, arrays nest at most max_depth deep.
// Input past either is invalid, so a peer cannot make a connection buffer
// without bound or recurse off the stack.
#pragma once

#include <kyoto/bytes.hpp>
#include <kyoto/runtime/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mini_redis {

/// The largest frame read, in bytes on the wire (64 MiB). A bulk string
/// whose announced length passes it, or a frame still incomplete after this
/// many bytes, is invalid.
inline constexpr std::size_t max_frame_size = std::size_t{64} << 20;

/// How deep arrays may nest in a frame read (a command is depth 1).
inline constexpr std::size_t max_depth = 32;

/// A read position in a byte buffer (upstream's `std::io::Cursor<&[u8]>`).
///
/// Thread safety: a plain value. The buffer must outlive it.
class cursor {
 public:
  /// A cursor at the start of `buf`.
  explicit cursor(std::span<const std::byte> buf) noexcept : buf_(buf) {}
  /// The position, from the start of the buffer.
  std::size_t position() const noexcept { return pos_; }
  /// Moves to `pos` (at most the buffer's size).
  void set_position(std::size_t pos) noexcept { pos_ = pos; }
  /// Bytes after the position.
  std::size_t remaining() const noexcept { return buf_.size() - pos_; }
  /// The whole buffer.
  std::span<const std::byte> get_ref() const noexcept { return buf_; }

 private:
  std::span<const std::byte> buf_;
  std::size_t pos_ = 0;
};

/// A frame in the Redis protocol (upstream's `enum Frame`): a simple
/// string, an error, an integer, a bulk string, null, or an array of frames.
///
/// Thread safety: a plain value (bulk strings share their bytes, as
/// kyoto::bytes does).
class frame {
 public:
  /// `+OK\r\n`: a line of UTF-8 text.
  struct simple {
    std::string value;  ///< the text, without the CRLF
  };
  /// `-ERR ...\r\n`: an error line.
  struct error {
    std::string value;  ///< the text, without the CRLF
  };
  /// `:42\r\n`: an unsigned integer (upstream's u64).
  struct integer {
    std::uint64_t value;  ///< the number
  };
  /// `$5\r\nhello\r\n`: binary-safe bytes.
  struct bulk {
    kyoto::bytes value;  ///< the bytes
  };
  /// `$-1\r\n`: no value.
  struct null {};
  /// `*2\r\n...`: frames.
  struct array {
    std::vector<frame> value;  ///< the elements
  };
  /// Which of the six a frame is.
  using variant_type = std::variant<simple, error, integer, bulk, null, array>;

  /// Why check() or parse() did not give a frame (upstream's frame::Error).
  struct read_error {
    /// Incomplete: more bytes may complete the frame. Otherwise invalid.
    bool incomplete = false;
    /// What is wrong (empty when incomplete; "stream ended early" is what
    /// upstream prints for it).
    std::string message;
  };

  // Implicit, as Rust's enum variants: `frame f = frame::simple{"OK"};`.
  frame(simple v) : v_(std::move(v)) {}  ///< a simple string
  frame(error v) : v_(std::move(v)) {}   ///< an error
  frame(integer v) : v_(v) {}            ///< an integer
  frame(bulk v) : v_(std::move(v)) {}    ///< a bulk string
  frame(null v) : v_(v) {}               ///< null
  frame(array v) : v_(std::move(v)) {}   ///< an array

  /// An empty array (upstream's Frame::array()).
  static frame make_array() { return frame(array{}); }
  /// Appends a bulk string; throws std::logic_error unless an array.
  void push_bulk(kyoto::bytes b);
  /// Appends an integer; throws std::logic_error unless an array.
  void push_int(std::uint64_t value);

  /// Whether one whole, valid frame starts at `src`'s position; on success
  /// the cursor is left just past it. Never allocates unless invalid.
  static kyoto::result<void, read_error> check(cursor& src) { return check(src, 0); }
  /// The frame at `src`'s position, which check() has accepted. Its bulk
  /// strings are copies (upstream's `Bytes::copy_from_slice`).
  static kyoto::result<frame, read_error> parse(cursor& src) { return parse(src, nullptr, 0); }
  /// As parse(src), with `src` a cursor over `backing.as_span()`: the bulk
  /// strings are slices of `backing`, not copies (one allocation per frame,
  /// not two per bulk string; a slice kept keeps all of `backing`).
  static kyoto::result<frame, read_error> parse(cursor& src, const kyoto::bytes& backing) {
    return parse(src, &backing, 0);
  }

  /// The frame's alternative.
  const variant_type& get() const noexcept { return v_; }
  /// The frame's alternative.
  variant_type& get() noexcept { return v_; }
  /// Whether it holds T.
  template <class T>
  bool is() const noexcept {
    return std::holds_alternative<T>(v_);
  }
  /// Whether it is a simple or bulk string equal to `s` (upstream's
  /// `PartialEq<&str>`).
  bool operator==(std::string_view s) const noexcept;

  /// As upstream's Display: the text, the number, "(nil)", "error: ...",
  /// an array's elements separated by spaces.
  std::string to_string() const;
  /// As upstream's Debug (`Simple("OK")`, `Bulk(b"x")`, `Array([...])`).
  std::string debug_string() const;

 private:
  static kyoto::result<void, read_error> check(cursor& src, std::size_t depth);
  static kyoto::result<frame, read_error> parse(cursor& src, const kyoto::bytes* backing,
                                                std::size_t depth);

  variant_type v_;
};

/// Upstream's `Debug` of a `Bytes`: `b"..."` with Rust's escapes.
std::string debug_bytes(std::span<const std::byte> b);

/// Whether `b` is valid UTF-8 (Rust's `str::from_utf8(..).is_ok()`).
bool is_utf8(std::span<const std::byte> b) noexcept;

/// The number at the start of `text` as the `atoi` crate reads it for u64:
/// the leading decimal digits; nullopt if there are none or they overflow.
std::optional<std::uint64_t> atoi_u64(std::span<const std::byte> text) noexcept;

}  // namespace mini_redis
