// Helpers shared by the codec tests: frames as strings, a writer that
// records each write call, and a reader whose script can end the stream
// and then resume (tokio-util's resumable mocks).
#pragma once

#include <kyoto/bytes.hpp>
#include <kyoto/codec/codec_error.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/codec/detail/framed_impl.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace codec_test {

inline std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline std::string str(const kyoto::bytes& b) {
  return str(b.as_span());
}
inline std::string str(const kyoto::bytes_mut& b) {
  return str(b.as_span());
}
inline std::string str(const std::string& s) {
  return s;
}
inline std::string str(std::uint32_t v) {
  return std::to_string(v);
}
inline std::string str(std::uint64_t v) {
  return std::to_string(v);
}

/// What a framed stream's next() gave, as text: the frame, "<end>", or
/// "<error>" (the error itself is in `last_error`).
template <class Item>
std::string describe(const std::optional<kyoto::codec::frame_result<Item>>& r,
                     std::optional<kyoto::codec::codec_error>* last_error = nullptr) {
  if (!r) return "<end>";
  if (!r->has_value()) {
    if (last_error != nullptr) last_error->emplace(r->error());
    return "<error>";
  }
  return str(**r);
}

/// co_await next_of(f): describe(co_await f.next()).
template <class F>
kyoto::task<std::string> next_of(F& f, std::optional<kyoto::codec::codec_error>* err = nullptr) {
  auto r = co_await f.next();
  co_return describe(r, err);
}

/// co_await rest_of(f): next_of(f) up to and including "<end>" (at most
/// 1000 items): what is left of the stream, for one EXPECT_EQ against
/// frames_of().
template <class F>
kyoto::task<std::vector<std::string>> rest_of(F& f) {
  std::vector<std::string> out;
  while (out.size() < 1000) {
    out.push_back(co_await next_of(f));
    if (out.back() == "<end>") break;
  }
  co_return out;
}

/// What rest_of() is compared with: frames_of("a", "b", "<end>"). (A
/// braced list there would put an initializer_list in the co_await's
/// full-expression, which GCC 12 rejects: "array used as initializer".)
template <class... S>
std::vector<std::string> frames_of(const S&... s) {
  return std::vector<std::string>{std::string(s)...};
}

/// A writer recording each write call's bytes; `max_write` limits what one
/// call takes (0: no limit).
struct recording_writer {
  std::vector<std::string> writes;
  int flushes = 0;
  int shutdowns = 0;
  std::size_t max_write = 0;
  bool take_nothing = false;

  kyoto::task<std::size_t> write(std::span<const std::byte> buf) {
    if (take_nothing) co_return 0;
    const std::size_t n = max_write == 0 ? buf.size() : std::min(buf.size(), max_write);
    writes.push_back(str(buf.first(n)));
    co_return n;
  }
  kyoto::task<void> flush() {
    ++flushes;
    co_return;
  }
  kyoto::task<void> shutdown() {
    ++shutdowns;
    co_return;
  }
  std::string all() const {
    std::string out;
    for (const std::string& w : writes)
      out += w;
    return out;
  }
};

/// A reader playing chunks; an empty chunk is one end of stream (the next
/// read continues with the next chunk), an error_code a thrown error; when
/// the chunks run out every read gives 0.
struct resumable_reader {
  std::deque<std::variant<std::string, std::error_code>> chunks;
  int reads = 0;

  kyoto::task<std::size_t> read(std::span<std::byte> buf) {
    ++reads;
    if (chunks.empty()) co_return 0;
    if (auto* ec = std::get_if<std::error_code>(&chunks.front())) {
      const std::error_code e = *ec;
      chunks.pop_front();
      throw std::system_error(e, "resumable_reader");
    }
    std::string& s = std::get<std::string>(chunks.front());
    const std::size_t n = std::min(buf.size(), s.size());
    std::memcpy(buf.data(), s.data(), n);
    if (n == s.size()) {
      chunks.pop_front();
    } else {
      s.erase(0, n);
    }
    co_return n;
  }
};

/// tokio's U32Decoder / U32Encoder (framed_read.rs, framed_write.rs).
struct u32_codec {
  std::size_t read_bytes = 0;
  std::optional<std::uint32_t> decode(kyoto::bytes_mut& buf) {
    if (buf.size() < 4) return std::nullopt;
    read_bytes += 4;
    return buf.get_u32();
  }
  void encode(std::uint32_t v, kyoto::bytes_mut& dst) {
    dst.reserve(4);
    dst.put_u32(v);
  }
};

/// tokio's U64Decoder / U64Encoder.
struct u64_codec {
  std::size_t read_bytes = 0;
  std::optional<std::uint64_t> decode(kyoto::bytes_mut& buf) {
    if (buf.size() < 8) return std::nullopt;
    read_bytes += 8;
    return buf.get_u64();
  }
  void encode(std::uint64_t v, kyoto::bytes_mut& dst) {
    dst.reserve(8);
    dst.put_u64(v);
  }
};

}  // namespace codec_test
