// Test helpers: strings as bytes and bytes as strings, and the byte
// pattern transfer tests check what arrives against.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kyoto::test {

/// The bytes of `s` (a view: `s` must outlive it).
inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s));
}

/// The bytes as a string.
inline std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// Byte i of the test pattern (251 is prime: no power-of-two period).
constexpr std::byte pattern(std::size_t i) {
  return static_cast<std::byte>(i % 251);
}

/// The pattern's first `n` bytes.
inline std::vector<std::byte> pattern_bytes(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = pattern(i);
  return v;
}

}  // namespace kyoto::test
