#include <kyoto/io/error.hpp>

namespace kyoto::io {

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kyoto.io"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::unexpected_eof:
        return "unexpected end of stream";
      case errc::write_zero:
        return "write accepted zero bytes";
    }
    return "unknown kyoto.io error";
  }
};

}  // namespace

const std::error_category& io_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace kyoto::io

namespace kyoto::detail {

void throw_io_error(int err, const char* operation) {
  throw std::system_error(err, std::system_category(), operation);
}

void throw_io_error(io::errc e, const char* operation) {
  throw std::system_error(io::make_error_code(e), operation);
}

}  // namespace kyoto::detail
