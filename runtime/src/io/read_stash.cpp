// kyoto::detail::read_stash (kyoto/io/detail/read_stash.hpp).
#include <kyoto/io/detail/io_op.hpp>
#include <kyoto/io/detail/read_stash.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace kyoto::detail {

namespace {
/// `kept::end`'s value while no end or error is kept.
constexpr int no_end = 1;
/// The most one take() gives at once (an int, as the kernel's own reads).
constexpr std::size_t max_take = max_rw_count;
}  // namespace

struct read_stash::kept {
  std::vector<std::byte> bytes;
  std::size_t pos = 0;  ///< the next unread byte
  int end = no_end;     ///< after the bytes: 0 (end of stream) or -errno
};

read_stash::read_stash() noexcept = default;
read_stash::read_stash(read_stash&&) noexcept = default;
read_stash& read_stash::operator=(read_stash&&) noexcept = default;
read_stash::~read_stash() = default;

bool read_stash::empty() const noexcept {
  return kept_ == nullptr || (kept_->pos == kept_->bytes.size() && kept_->end == no_end);
}

bool read_stash::keeps(int result) noexcept {
  return result != io_op::no_request && result != -ECANCELED && result != -EINTR &&
         result != -EAGAIN;
}

void read_stash::put(int result, std::span<const std::byte> buf) noexcept {
  if (!keeps(result)) return;
  if (kept_ == nullptr) kept_ = std::make_unique<kept>();
  if (result > 0) {
    const auto got = buf.first(std::min(static_cast<std::size_t>(result), buf.size()));
    kept_->bytes.insert(kept_->bytes.end(), got.begin(), got.end());
  } else if (kept_->end == no_end) {
    kept_->end = result;  // the first end or error wins; reads stop there
  }
}

int read_stash::take(std::span<std::byte> into, bool peek) noexcept {
  kept& k = *kept_;
  if (k.pos == k.bytes.size()) {
    // Only the end or an error is left; a peek leaves it for the read.
    const int end = k.end;
    if (!peek) k.end = no_end;
    return end;
  }
  const std::size_t n = std::min({into.size(), k.bytes.size() - k.pos, max_take});
  std::memcpy(into.data(), k.bytes.data() + k.pos, n);
  if (!peek) {
    k.pos += n;
    if (k.pos == k.bytes.size()) {
      k.bytes.clear();
      k.pos = 0;
    }
  }
  return static_cast<int>(n);
}

}  // namespace kyoto::detail
