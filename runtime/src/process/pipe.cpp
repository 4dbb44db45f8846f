// A child's pipes as kyoto streams: one io_uring read or write request per
// operation (see <kyoto/process/pipe.hpp>).
#include <kyoto/process/pipe.hpp>

#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/opcode.hpp>
#include <kyoto/io/detail/read_stash.hpp>

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <system_error>

namespace kyoto::detail {

void pipe_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace kyoto::detail

namespace kyoto::process {

namespace {

/// One read or write request on `fd`; gives the byte count or throws.
kyoto::task<std::size_t> transfer(int fd, std::uint8_t code, void* data, std::size_t len,
                                  const char* what) {
  if (fd < 0) {
    throw std::system_error(EBADF, std::generic_category(), what);
  }
  kyoto::detail::op_args a;
  a.opcode = code;
  a.fd = fd;
  a.addr = reinterpret_cast<std::uint64_t>(data);
  a.len = static_cast<std::uint32_t>(len > UINT_MAX ? UINT_MAX : len);
  a.off = ~std::uint64_t{0};  // -1: a pipe has no offset; use the stream
  for (;;) {
    const int r = co_await kyoto::detail::op_awaiter(a);
    if (r >= 0) co_return static_cast<std::size_t>(r);
    if (r == -EINTR || r == -EAGAIN) continue;
    throw std::system_error(-r, std::generic_category(), what);
  }
}

}  // namespace

kyoto::task<std::size_t> child_stdin::write(std::span<const std::byte> buf) {
  if (buf.empty()) {
    return []() -> kyoto::task<std::size_t> {
      co_return 0;
    }();
  }
  return transfer(fd_.get(), kyoto::detail::opcode::write, const_cast<std::byte*>(buf.data()),
                  buf.size(), "kyoto::process::child_stdin::write");
}

kyoto::task<> child_stdin::flush() {
  co_return;
}

kyoto::task<> child_stdin::shutdown() {
  fd_.reset();
  co_return;
}

kyoto::task<std::size_t> child_output_pipe::read(std::span<std::byte> buf) {
  constexpr const char* what = "kyoto::process: reading a child's output";
  if (buf.empty()) co_return 0;
  for (;;) {
    int r = 0;
    if (!stash_.empty()) {
      r = stash_.take(buf, false);
    } else {
      const int fd = fd_.get();
      if (fd < 0) throw std::system_error(EBADF, std::generic_category(), what);
      kyoto::detail::stashing_read_awaiter read(stash_, buf,
                                                kyoto::detail::stream_read_args(fd, buf));
      r = co_await read;
    }
    if (r >= 0) co_return static_cast<std::size_t>(r);
    if (r == -EINTR || r == -EAGAIN) continue;
    throw std::system_error(-r, std::generic_category(), what);
  }
}

}  // namespace kyoto::process
