// The reference-counted allocation behind kyoto::bytes and kyoto::bytes_mut.
//
// # Sharing
//
// Every handle that is not empty and not static holds one reference on a
// `bytes_shared` block: the buffer [base, base + capacity) and the count.
// A handle views a window of that buffer; a bytes_mut additionally owns
// the spare room after its bytes, up to its own capacity. Windows of
// different bytes_mut handles never overlap, so writes through one never
// race with reads or writes through another; bytes handles only read.
//
// # The count
//
// `refs` is written by every handle that copies (increment) or drops
// (decrement) a reference, from any thread, and read by bytes_mut::reserve
// to learn whether it is the only handle left (then the whole buffer is its
// own and may be reused). The orderings:
//
// - increment: relaxed. A new reference is only made from an existing one,
//   which keeps the block alive meanwhile; the increment publishes nothing
//   (the same argument as std::shared_ptr and Rust's Arc::clone).
// - decrement: acq_rel. Release publishes this handle's reads and writes of
//   the buffer; acquire, in the thread that drops the last reference, sees
//   every other handle's released accesses (all decrements form one release
//   sequence), so freeing the buffer happens after all of them. A release
//   decrement plus an acquire fence would do; acq_rel is used instead
//   because ThreadSanitizer does not model standalone fences.
// - uniqueness check (`is_unique`): acquire load; pairs with the release half
//   of the decrements above, so a bytes_mut that sees a count of 1 and then
//   writes into space another handle used to view (reclaiming the front or
//   the tail) writes after that handle's last read.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/export.hpp>

#include <compare>
#include <cstddef>
#include <cstring>
#include <iosfwd>
#include <span>
#include <utility>

namespace kyoto::detail {

/// The header of one shared buffer: the count and where the bytes are.
/// `base` and `capacity` never change after construction; `destroy` frees
/// the block and the storage it owns.
struct bytes_shared {
  /// References held by handles; see the file comment for who touches it.
  atomic<std::size_t> refs{1};
  /// First byte of the buffer.
  std::byte* base = nullptr;
  /// Size of the buffer in bytes.
  std::size_t capacity = 0;
  /// Frees the block and its storage; called once, by the last reference.
  void (*destroy)(bytes_shared*) noexcept = nullptr;
};

/// A block that owns `Owner` (a std::string, a std::vector<std::byte>, a
/// heap array) and points `base` at its bytes.
template <class Owner>
struct owning_bytes_shared : bytes_shared {
  explicit owning_bytes_shared(Owner&& o) : owner(std::move(o)) {
    destroy = [](bytes_shared* self) noexcept {
      delete static_cast<owning_bytes_shared*>(self);
    };
  }
  Owner owner;
};

/// Adds a reference to a block the caller holds one on.
inline void bytes_ref(bytes_shared* s) noexcept {
  // Relaxed: the caller's reference keeps the block alive; nothing is
  // published (file comment, "increment").
  s->refs.fetch_add(1, std::memory_order_relaxed);
}

/// Drops one reference; the last one frees the block.
inline void bytes_unref(bytes_shared* s) noexcept {
  // Acq_rel: the release half publishes this handle's use of the buffer to
  // the last dropper and to is_unique(); the acquire half makes the last
  // dropper see every other handle's use before freeing (file comment).
  if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) s->destroy(s);
}

/// Whether the caller's reference is the only one.
inline bool bytes_is_unique(const bytes_shared* s) noexcept {
  // Acquire: pairs with the release half of bytes_unref() in every handle
  // that dropped its reference, so their reads of the buffer happen before
  // the caller's writes into it.
  return s->refs.load(std::memory_order_acquire) == 1;
}

/// A new block owning an uninitialised heap buffer of `capacity` bytes
/// (capacity > 0), with one reference.
KYOTO_EXPORT bytes_shared* bytes_allocate(std::size_t capacity);

/// Throws std::out_of_range("<type>::<fn>: <value> > <what> <limit>"), e.g.
/// "kyoto::bytes_mut::split_to: 10 > len 4".
[[noreturn]] KYOTO_EXPORT void bytes_out_of_range(const char* type, const char* fn,
                                                  std::size_t value, const char* what,
                                                  std::size_t limit);

/// Throws std::out_of_range("<type>::operator[]: index <i> >= len <len>").
[[noreturn]] KYOTO_EXPORT void bytes_index_out_of_range(const char* type, std::size_t i,
                                                        std::size_t len);

/// Writes `data` as the crate's Debug does: b"..." with printable ASCII as
/// itself, \n \r \t \0 \\ \" escaped and other bytes as \xNN.
KYOTO_EXPORT std::ostream& bytes_write_debug(std::ostream& os, std::span<const std::byte> data);

/// Byte-wise equality of two spans.
inline bool bytes_equal(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

/// Lexicographic comparison of two spans, bytes compared as unsigned.
inline std::strong_ordering bytes_compare(std::span<const std::byte> a,
                                          std::span<const std::byte> b) noexcept {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  const int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
  return a.size() <=> b.size();
}

}  // namespace kyoto::detail
