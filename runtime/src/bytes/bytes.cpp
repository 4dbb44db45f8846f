// kyoto::bytes: construction, splitting, the shared block's allocation and
// the error messages (header: kyoto/bytes/bytes.hpp).
#include <kyoto/bytes/bytes.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>

namespace kyoto {
namespace detail {

bytes_shared* bytes_allocate(std::size_t capacity) {
  // The buffer is default-initialised (not zeroed): bytes_mut only exposes
  // bytes it wrote, or spare room documented as uninitialised.
  auto* block = new owning_bytes_shared<std::unique_ptr<std::byte[]>>(
      std::make_unique_for_overwrite<std::byte[]>(capacity));
  block->base = block->owner.get();
  block->capacity = capacity;
  return block;
}

void bytes_out_of_range(const char* type, const char* fn, std::size_t value, const char* what,
                        std::size_t limit) {
  throw std::out_of_range(std::string(type) + "::" + fn + ": " + std::to_string(value) + " > " +
                          what + " " + std::to_string(limit));
}

void bytes_index_out_of_range(const char* type, std::size_t i, std::size_t len) {
  throw std::out_of_range(std::string(type) + "::operator[]: index " + std::to_string(i) +
                          " >= len " + std::to_string(len));
}

namespace {

template <class Owner>
bytes_shared* adopt(Owner&& owner) {
  auto* block = new owning_bytes_shared<Owner>(std::forward<Owner>(owner));
  block->base = reinterpret_cast<std::byte*>(block->owner.data());
  block->capacity = block->owner.size();
  return block;
}

}  // namespace

std::ostream& bytes_write_debug(std::ostream& os, std::span<const std::byte> data) {
  os << "b\"";
  for (const std::byte byte : data) {
    const auto c = std::to_integer<unsigned char>(byte);
    switch (c) {
      case '\n':
        os << "\\n";
        break;
      case '\r':
        os << "\\r";
        break;
      case '\t':
        os << "\\t";
        break;
      case '\\':
        os << "\\\\";
        break;
      case '"':
        os << "\\\"";
        break;
      case '\0':
        os << "\\0";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          os << static_cast<char>(c);
        } else {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          os << hex;
        }
    }
  }
  return os << '"';
}

}  // namespace detail

bytes::bytes(std::string&& s) {
  if (s.empty()) return;
  shared_ = detail::adopt(std::move(s));
  ptr_ = shared_->base;
  len_ = shared_->capacity;
}

bytes::bytes(std::vector<std::byte>&& v) {
  if (v.empty()) return;
  shared_ = detail::adopt(std::move(v));
  ptr_ = shared_->base;
  len_ = shared_->capacity;
}

bytes bytes::copy_from_slice(std::span<const std::byte> data) {
  if (data.empty()) return bytes();
  detail::bytes_shared* block = detail::bytes_allocate(data.size());
  std::memcpy(block->base, data.data(), data.size());
  return bytes(block, block->base, data.size());
}

bytes bytes::slice_ref(std::span<const std::byte> sub) const {
  // An empty span is accepted wherever it points, as in the crate.
  if (sub.empty()) return bytes();
  // Compare addresses as integers: relational comparison of pointers into
  // different objects is unspecified.
  const auto lo = reinterpret_cast<std::uintptr_t>(ptr_);
  const auto p = reinterpret_cast<std::uintptr_t>(sub.data());
  if (len_ == 0 || p < lo || p - lo > len_ || sub.size() > len_ - (p - lo)) {
    throw std::out_of_range("kyoto::bytes::slice_ref: the span is not inside this bytes (" +
                            std::to_string(sub.size()) + " bytes at offset " +
                            (p < lo ? std::string("before the start") : std::to_string(p - lo)) +
                            ", len " + std::to_string(len_) + ")");
  }
  return share(ptr_ + (p - lo), sub.size());
}

bytes bytes::split_to(std::size_t n, const char* fn) {
  if (n > len_) detail::bytes_out_of_range(buf_name, fn, n, "len", len_);
  if (n == len_) return std::exchange(*this, bytes());
  if (n == 0) return bytes();
  bytes front = share(ptr_, n);
  ptr_ += n;
  len_ -= n;
  return front;
}

bytes bytes::split_off(std::size_t at) {
  if (at > len_) detail::bytes_out_of_range(buf_name, "split_off", at, "len", len_);
  if (at == 0) return std::exchange(*this, bytes());
  if (at == len_) return bytes();
  bytes back = share(ptr_ + at, len_ - at);
  len_ = at;
  return back;
}

std::ostream& operator<<(std::ostream& os, const bytes& b) {
  return detail::bytes_write_debug(os, b.as_span());
}

}  // namespace kyoto
