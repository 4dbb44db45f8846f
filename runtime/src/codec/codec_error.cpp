// kyoto::codec's error category.
#include <kyoto/codec/codec_error.hpp>

#include <string>

namespace kyoto::codec {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kyoto.codec"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::max_line_length_exceeded:
        return "max line length exceeded";
      case errc::max_chunk_length_exceeded:
        return "max chunk length exceeded";
      case errc::frame_too_big:
        return "frame size too big";
      case errc::length_overflow:
        return "provided length would overflow after adjustment";
      case errc::bytes_remaining_on_stream:
        return "bytes remaining on stream";
      case errc::invalid_utf8:
        return "invalid UTF-8";
    }
    return "unknown codec error";
  }
};

}  // namespace

const std::error_category& codec_category() noexcept {
  static const category c;
  return c;
}

}  // namespace kyoto::codec
