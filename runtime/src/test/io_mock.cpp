// kyoto::test::io_mock: see the ordering rules in <kyoto/test/io_builder.hpp>.
//
// The script is a deque of actions guarded by `lock`. Every consumption of
// an action is followed by notify_waiters() on `changed`; an operation
// that must wait for another creates its notified *before* it looks at the
// script (under the lock), so a change made between its look and its await
// still completes the await (notify_waiters() completes every notified
// created before it).
#include <kyoto/sync/notify.hpp>
#include <kyoto/test/io_builder.hpp>
#include <kyoto/time/sleep.hpp>

#include <kyoto/runtime/detail/mutex.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

namespace kyoto::detail {

/// One scripted action.
struct io_mock_action {
  enum class kind : unsigned char { read, write, read_error, write_error, wait };
  kind what = kind::read;
  std::vector<std::byte> data;  ///< read: bytes to give; write: bytes expected
  std::size_t done = 0;         ///< bytes of `data` already given or matched
  std::error_code error;        ///< read_error / write_error
  std::chrono::nanoseconds pause{0};
  std::optional<time::instant> deadline;  ///< wait: set when first reached
  std::size_t position = 0;               ///< 1-based place in the script
};

/// The mock's state; every field but `changed` is guarded by `lock`.
struct io_mock_state {
  mutex lock;
  std::deque<io_mock_action> actions;
  sync::notify changed;

  /// Ends every consumption of an action: takes `it` off the script if
  /// `finished`, releases `guard` (on `lock`), then wakes the other side.
  void consumed(std::unique_lock<mutex>& guard, const std::deque<io_mock_action>::iterator& it,
                bool finished = true) {
    if (finished) actions.erase(it);
    guard.unlock();
    changed.notify_waiters();
  }
};

namespace {

/// Whether the scripted wait `a` is over; its deadline is set the first
/// time an operation reaches it.
bool wait_is_over(io_mock_action& a) {
  if (!a.deadline) a.deadline = time::clock::now() + a.pause;
  return time::clock::now() >= *a.deadline;
}

/// `b` as the crate's Debug prints bytes: b"text\n\x00".
std::string escape(std::span<const std::byte> b) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "b\"";
  for (std::byte x : b) {
    const auto c = std::to_integer<unsigned char>(x);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  out += '"';
  return out;
}

std::span<const std::byte> rest_of(const io_mock_action& a) {
  return std::span<const std::byte>(a.data).subspan(a.done);
}

/// Describes what is left of the script (for errors).
std::string describe_left(const std::deque<io_mock_action>& actions) {
  std::string out;
  for (const io_mock_action& a : actions) {
    if (!out.empty()) out += ", ";
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict
    // for `"literal" + std::string` (GCC bug 105329).
    out += '#';
    out += std::to_string(a.position);
    out += ' ';
    switch (a.what) {
      case io_mock_action::kind::read:
        out += "read ";
        out += escape(rest_of(a));
        break;
      case io_mock_action::kind::write:
        out += "write ";
        out += escape(rest_of(a));
        break;
      case io_mock_action::kind::read_error:
        out += "read_error(";
        out += a.error.message();
        out += ')';
        break;
      case io_mock_action::kind::write_error:
        out += "write_error(";
        out += a.error.message();
        out += ')';
        break;
      case io_mock_action::kind::wait:
        out += "wait";
        break;
    }
  }
  return out.empty() ? "nothing" : out;
}

}  // namespace
}  // namespace kyoto::detail

namespace kyoto::test {

using action = detail::io_mock_action;

io_mock::io_mock(std::vector<action> script)
    : s_(std::make_unique<detail::io_mock_state>()), uncaught_(std::uncaught_exceptions()) {
  s_->actions.assign(std::make_move_iterator(script.begin()),
                     std::make_move_iterator(script.end()));
}

io_mock::io_mock(io_mock&& o) noexcept : s_(std::move(o.s_)), uncaught_(o.uncaught_) {}

io_mock& io_mock::operator=(io_mock&& o) noexcept(false) {
  if (this != &o) {
    std::unique_ptr<detail::io_mock_state> old = std::move(s_);
    s_ = std::move(o.s_);
    uncaught_ = o.uncaught_;
    if (old) {
      std::swap(old, s_);
      check_done();  // the replaced script must have been played too
      s_ = std::move(old);
    }
  }
  return *this;
}

io_mock::~io_mock() noexcept(false) {
  if (s_ && std::uncaught_exceptions() <= uncaught_) check_done();
}

bool io_mock::is_done() const {
  if (!s_) return true;
  std::lock_guard guard(s_->lock);
  return std::none_of(s_->actions.begin(), s_->actions.end(), [](const action& a) {
    return a.what == action::kind::read || a.what == action::kind::write;
  });
}

void io_mock::check_done() {
  if (is_done()) return;
  std::string left;
  {
    std::lock_guard guard(s_->lock);
    left = detail::describe_left(s_->actions);
  }
  s_.reset();
  throw io_mock_error("kyoto::test::io_mock: destroyed with script actions left: " + left);
}

task<std::size_t> io_mock::read(std::span<std::byte> buf) {
  if (!s_) throw std::logic_error("kyoto::test::io_mock::read: moved-from mock");
  detail::io_mock_state& s = *s_;
  for (;;) {
    sync::notified changed = s.changed.notified();
    std::optional<time::instant> sleep_until;
    {
      std::unique_lock guard(s.lock);
      if (s.actions.empty()) co_return 0;
      action& a = s.actions.front();
      switch (a.what) {
        case action::kind::read: {
          const std::size_t n = std::min(buf.size(), a.data.size() - a.done);
          std::memcpy(buf.data(), a.data.data() + a.done, n);
          a.done += n;
          s.consumed(guard, s.actions.begin(), a.done == a.data.size());
          co_return n;
        }
        case action::kind::read_error: {
          const std::error_code ec = a.error;
          s.consumed(guard, s.actions.begin());
          throw std::system_error(ec, "kyoto::test::io_mock::read: scripted read error");
        }
        case action::kind::wait:
          if (detail::wait_is_over(a)) {
            s.consumed(guard, s.actions.begin());
            continue;
          }
          sleep_until = a.deadline;
          break;
        default:
          break;  // a write comes first: wait for it
      }
    }
    if (sleep_until) {
      co_await time::sleep_until(*sleep_until);
    } else {
      co_await std::move(changed);
    }
  }
}

task<std::size_t> io_mock::write(std::span<const std::byte> buf) {
  if (!s_) throw std::logic_error("kyoto::test::io_mock::write: moved-from mock");
  detail::io_mock_state& s = *s_;
  if (buf.empty()) co_return 0;
  for (;;) {
    sync::notified changed = s.changed.notified();
    std::optional<time::instant> sleep_until;
    {
      std::unique_lock guard(s.lock);
      auto it = s.actions.begin();
      while (it != s.actions.end() &&
             (it->what == action::kind::read || it->what == action::kind::read_error)) {
        ++it;
      }
      if (it == s.actions.end()) {
        const std::string left = detail::describe_left(s.actions);
        guard.unlock();
        throw io_mock_error("kyoto::test::io_mock::write: unexpected write of " +
                            detail::escape(buf) + ": no write is scripted (left: " + left + ")");
      }
      action& a = *it;
      switch (a.what) {
        case action::kind::write: {
          const std::span<const std::byte> expected = detail::rest_of(a);
          const std::size_t n = std::min(buf.size(), expected.size());
          const auto diff = std::mismatch(
              expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(n), buf.begin());
          if (diff.first != expected.begin() + static_cast<std::ptrdiff_t>(n)) {
            const std::size_t at = a.done + static_cast<std::size_t>(diff.first - expected.begin());
            const std::string msg = "kyoto::test::io_mock::write: write #" +
                                    std::to_string(a.position) + " differs at byte " +
                                    std::to_string(at) + ": expected " + detail::escape(expected) +
                                    ", got " + detail::escape(buf);
            guard.unlock();
            throw io_mock_error(msg);
          }
          a.done += n;
          s.consumed(guard, it, a.done == a.data.size());
          co_return n;
        }
        case action::kind::write_error: {
          const std::error_code ec = a.error;
          s.consumed(guard, it);
          throw std::system_error(ec, "kyoto::test::io_mock::write: scripted write error");
        }
        default:                               // a wait
          if (it != s.actions.begin()) break;  // reads before it first
          if (detail::wait_is_over(a)) {
            s.consumed(guard, s.actions.begin());
            continue;
          }
          sleep_until = a.deadline;
          break;
      }
    }
    if (sleep_until) {
      co_await time::sleep_until(*sleep_until);
    } else {
      co_await std::move(changed);
    }
  }
}

task<void> io_mock::flush() {
  co_return;
}

task<void> io_mock::shutdown() {
  co_return;
}

io_builder::io_builder() = default;
io_builder::io_builder(const io_builder&) = default;
io_builder::io_builder(io_builder&&) noexcept = default;
io_builder& io_builder::operator=(const io_builder&) = default;
io_builder& io_builder::operator=(io_builder&&) noexcept = default;
io_builder::~io_builder() = default;

namespace {
action make(action::kind k, std::size_t position) {
  action a;
  a.what = k;
  a.position = position;
  return a;
}
}  // namespace

io_builder& io_builder::read(std::span<const std::byte> data) {
  if (data.empty()) return *this;  // as tokio_test: an empty read is no action
  action a = make(action::kind::read, script_.size() + 1);
  a.data.assign(data.begin(), data.end());
  script_.push_back(std::move(a));
  return *this;
}

io_builder& io_builder::read(std::string_view data) {
  return read(std::as_bytes(std::span(data.data(), data.size())));
}

io_builder& io_builder::write(std::span<const std::byte> data) {
  if (data.empty()) return *this;
  action a = make(action::kind::write, script_.size() + 1);
  a.data.assign(data.begin(), data.end());
  script_.push_back(std::move(a));
  return *this;
}

io_builder& io_builder::write(std::string_view data) {
  return write(std::as_bytes(std::span(data.data(), data.size())));
}

io_builder& io_builder::read_error(std::error_code ec) {
  action a = make(action::kind::read_error, script_.size() + 1);
  a.error = ec;
  script_.push_back(std::move(a));
  return *this;
}

io_builder& io_builder::write_error(std::error_code ec) {
  action a = make(action::kind::write_error, script_.size() + 1);
  a.error = ec;
  script_.push_back(std::move(a));
  return *this;
}

io_builder& io_builder::wait(std::chrono::nanoseconds d) {
  action a = make(action::kind::wait, script_.size() + 1);
  a.pause = d;
  script_.push_back(std::move(a));
  return *this;
}

io_mock io_builder::build() const {
  return io_mock(script_);
}

}  // namespace kyoto::test
