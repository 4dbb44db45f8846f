// kyoto::bytes_mut: growth, reclaiming, splitting and freezing (header:
// kyoto/bytes/bytes_mut.hpp, whose file comment states the reserve rules).
#include <kyoto/bytes/bytes_mut.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <ostream>
#include <stdexcept>

namespace kyoto {
namespace {

/// A shared buffer's size caps what a new buffer inherits from it when the
/// old one is still shared (the crate's MAX_ORIGINAL_CAPACITY, 64 KiB).
constexpr std::size_t max_inherited_capacity = std::size_t{64} * 1024;

}  // namespace

bytes_mut bytes_mut::with_capacity(std::size_t capacity) {
  if (capacity == 0) return bytes_mut();
  detail::bytes_shared* block = detail::bytes_allocate(capacity);
  return bytes_mut(block, block->base, 0, capacity);
}

bytes_mut::bytes_mut(std::span<const std::byte> data) {
  if (data.empty()) return;
  shared_ = detail::bytes_allocate(data.size());
  ptr_ = shared_->base;
  std::memcpy(ptr_, data.data(), data.size());
  len_ = cap_ = data.size();
}

void bytes_mut::reserve(std::size_t additional) {
  if (additional <= cap_ - len_) return;
  if (additional > std::numeric_limits<std::size_t>::max() - len_) {
    throw std::length_error("kyoto::bytes_mut::reserve: " + std::to_string(len_) + " + " +
                            std::to_string(additional) + " overflows");
  }
  const std::size_t needed = len_ + additional;
  if (shared_ == nullptr) {
    reallocate(needed);
    return;
  }
  if (detail::bytes_is_unique(shared_)) {
    // Every other handle is gone (and, by the acquire in bytes_is_unique,
    // done with the buffer): the whole buffer is this part's.
    std::byte* const base = shared_->base;
    const std::size_t buffer = shared_->capacity;
    const auto off = static_cast<std::size_t>(ptr_ - base);
    if (buffer - off >= needed) {  // the tail after the region suffices
      cap_ = buffer - off;
      return;
    }
    if (buffer >= needed) {  // moving to the start reclaims the front
      if (len_ != 0) std::memmove(base, ptr_, len_);
      ptr_ = base;
      cap_ = buffer;
      return;
    }
    const std::size_t doubled = buffer > std::numeric_limits<std::size_t>::max() / 2
                                    ? std::numeric_limits<std::size_t>::max()
                                    : 2 * buffer;
    reallocate(std::max(needed, doubled));
    return;
  }
  reallocate(std::max(needed, std::min(shared_->capacity, max_inherited_capacity)));
}

void bytes_mut::reallocate(std::size_t capacity) {
  detail::bytes_shared* block = detail::bytes_allocate(capacity);  // may throw: nothing changed
  if (len_ != 0) std::memcpy(block->base, ptr_, len_);
  if (shared_ != nullptr) detail::bytes_unref(shared_);
  shared_ = block;
  ptr_ = block->base;
  cap_ = capacity;
}

void bytes_mut::extend_from_slice(std::span<const std::byte> data) {
  if (data.empty()) return;
  // `data` may lie inside this buffer's contents, which reserve() may move:
  // remember it as an offset.
  const auto lo = reinterpret_cast<std::uintptr_t>(ptr_);
  const auto p = reinterpret_cast<std::uintptr_t>(data.data());
  if (len_ != 0 && p >= lo && p - lo < len_) {
    const std::size_t off = p - lo;
    reserve(data.size());
    std::memmove(ptr_ + len_, ptr_ + off, data.size());
  } else {
    reserve(data.size());
    std::memcpy(ptr_ + len_, data.data(), data.size());
  }
  len_ += data.size();
}

void bytes_mut::resize(std::size_t n, std::byte value) {
  if (n <= len_) {
    len_ = n;
    return;
  }
  reserve(n - len_);
  std::memset(ptr_ + len_, std::to_integer<int>(value), n - len_);
  len_ = n;
}

std::span<std::byte> bytes_mut::chunk_mut() {
  if (cap_ == len_) reserve(64);
  return {ptr_ + len_, cap_ - len_};
}

bytes_mut bytes_mut::split_to(std::size_t n, const char* fn) {
  if (n > len_) detail::bytes_out_of_range(buf_name, fn, n, "len", len_);
  if (n == 0) return bytes_mut();  // shares nothing: keeps this part unique
  detail::bytes_ref(shared_);
  bytes_mut front(shared_, ptr_, n, n);
  ptr_ += n;
  len_ -= n;
  cap_ -= n;
  return front;
}

bytes_mut bytes_mut::split_off(std::size_t at) {
  if (at > cap_) detail::bytes_out_of_range(buf_name, "split_off", at, "capacity", cap_);
  if (at == 0) return std::exchange(*this, bytes_mut());
  if (at == cap_) return bytes_mut();  // no room to hand over: shares nothing
  detail::bytes_ref(shared_);
  bytes_mut back(shared_, ptr_ + at, len_ > at ? len_ - at : 0, cap_ - at);
  cap_ = at;
  len_ = std::min(len_, at);
  return back;
}

void bytes_mut::unsplit(bytes_mut other) {
  if (empty()) {
    *this = std::move(other);
    return;
  }
  if (other.cap_ == 0) return;
  if (other.shared_ == shared_ && len_ == cap_ && ptr_ + cap_ == other.ptr_) {
    // `other` is the region right after this full one: join them.
    cap_ += other.cap_;
    len_ += other.len_;
    return;  // `other` drops its reference on the same block
  }
  extend_from_slice(other.as_span());
}

bytes bytes_mut::freeze() && {
  if (len_ == 0) {
    *this = bytes_mut();
    return bytes();
  }
  // Hand this part's reference to the bytes: no copy, no count change.
  bytes frozen(std::exchange(shared_, nullptr), ptr_, len_);
  ptr_ = nullptr;
  len_ = cap_ = 0;
  return frozen;
}

std::ostream& operator<<(std::ostream& os, const bytes_mut& b) {
  return detail::bytes_write_debug(os, b.as_span());
}

}  // namespace kyoto
