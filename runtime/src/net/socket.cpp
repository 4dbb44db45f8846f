#include "log.hpp"

#include <kyoto/net/detail/socket.hpp>
#include <kyoto/net/detail/stream_ops.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kyoto::detail {

void socket_fd::reset() noexcept {
  if (stashed_fd_ >= 0) ::close(std::exchange(stashed_fd_, -1));
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  stash_.reset();
}

std::size_t socket_fd::take_stash(std::span<std::byte> into, bool peek) noexcept {
  if (stash_->pos == stash_->bytes.size()) {
    // Only the end of the stream is left.
    if (!peek) stash_->eof = false;
    return 0;
  }
  const std::size_t n = std::min(into.size(), stash_->bytes.size() - stash_->pos);
  std::memcpy(into.data(), stash_->bytes.data() + stash_->pos, n);
  if (!peek) {
    stash_->pos += n;
    if (stash_->pos == stash_->bytes.size()) {
      stash_->bytes.clear();
      stash_->pos = 0;
    }
  }
  return n;
}

void socket_fd::stash(std::span<const std::byte> bytes) noexcept {
  // A bad_alloc here would lose received bytes: terminate rather than lose
  // them silently (noexcept).
  if (stash_ == nullptr) stash_ = std::make_unique<stashed>();
  stash_->bytes.insert(stash_->bytes.end(), bytes.begin(), bytes.end());
}

void socket_fd::stash_eof() noexcept {
  if (stash_ == nullptr) stash_ = std::make_unique<stashed>();
  stash_->eof = true;
}

void socket_fd::stash_fd(int fd) noexcept {
  if (stashed_fd_ >= 0) {
    // Only one accept waits at a time, so only one can be cancelled with a
    // connection in hand.
    log_error("a second cancelled accept kept a connection; closing it");
    ::close(fd);
    return;
  }
  stashed_fd_ = fd;
}

socket_fd open_socket(int family, int type, const char* operation) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_io_error(errno, operation);
  return socket_fd(fd);
}

void set_socket_option(int fd, int level, int name, int value, const char* operation) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_io_error(errno, operation);
}

int get_socket_option(int fd, int level, int name, const char* operation) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) throw_io_error(errno, operation);
  return value;
}

void shutdown_write(int fd, const char* operation) {
  if (::shutdown(fd, SHUT_WR) != 0) throw_io_error(errno, operation);
}

}  // namespace kyoto::detail
