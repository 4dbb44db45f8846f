// tokio's tutorial, "Streams" (https://tokio.rs/tokio/tutorial/streams),
// ported to kyoto::stream and kyoto::streams (docs/streams.md):
//
//   1. iterating a stream: `while let Some(v) = stream.next().await`;
//   2. a subscription read as a stream, then through take / filter / map
//      (the chapter subscribes to mini-redis; here a publisher task sends
//      the same six messages over an mpsc channel, read through
//      streams::receiver_stream);
//   3. implementing a stream by hand (the chapter's `Interval`);
//   4. async-stream's `stream!` macro, which is a kyoto::stream coroutine.
//
// Every stream runs on the consumer's task, so the output is the same on
// every run.
#include <kyoto/bytes.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/streams.hpp>

#include <array>
#include <chrono>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

using namespace std::chrono_literals;
namespace mpsc = kyoto::sync::mpsc;
namespace streams = kyoto::streams;

// ---------------------------------------------------------------- 1. iteration

kyoto::task<> iteration() {
  std::cout << "-- iteration\n";
  // tokio_stream::iter(&[1, 2, 3]): the range is moved into the stream.
  kyoto::stream<int> stream = streams::iter(std::array{1, 2, 3});
  for (;;) {
    std::optional<int> v = co_await stream.next();
    if (!v) break;
    std::cout << "GOT = " << *v << '\n';
  }
}

// ---------------------------------------------------------------- 2. a subscription

/// mini-redis's pub/sub message: the channel it was published on, and its
/// content.
struct message {
  std::string channel;
  kyoto::bytes content;
};

std::ostream& operator<<(std::ostream& os, const message& m) {
  return os << "message { channel: \"" << m.channel << "\", content: " << m.content << " }";
}

/// The chapter's publish(): six messages on "numbers". It stops early when
/// the subscriber has gone (a send on a closed channel hands the message
/// back as an error).
kyoto::task<> publish(mpsc::sender<message> tx) {
  static constexpr std::array<std::string_view, 6> contents{"1", "two", "3", "four", "five", "6"};
  for (const std::string_view content : contents) {
    // A named message, not a temporary in the co_await (GCC 12 copies an
    // aggregate temporary there bitwise: docs/architecture.md).
    message msg{"numbers", kyoto::bytes::from_static(content)};
    auto sent = co_await tx.send(std::move(msg));
    if (!sent.has_value()) co_return;  // the subscriber dropped its stream
  }
}

/// The chapter's subscriber.into_stream(): a publisher task, and its
/// messages as a stream. The stream ends once the publisher is done.
streams::receiver_stream<message> subscribe() {
  auto [tx, rx] = mpsc::channel<message>(16);
  kyoto::spawn(publish, std::move(tx));
  return streams::receiver_stream<message>(std::move(rx));
}

kyoto::task<> subscription() {
  std::cout << "-- subscribe\n";
  {
    auto messages = subscribe();
    for (;;) {
      std::optional<message> msg = co_await messages.next();
      if (!msg) break;
      std::cout << "got = " << *msg << '\n';
    }
  }

  std::cout << "-- take(3)\n";
  {
    // Adapters own their input: the receiver_stream is moved in.
    auto messages = subscribe() | streams::take(3);
    for (;;) {
      std::optional<message> msg = co_await messages.next();
      if (!msg) break;
      std::cout << "got = " << *msg << '\n';
    }
  }  // dropping the stream drops the receiver: the publisher stops

  std::cout << "-- filter | map | take(3)\n";
  {
    // Only the single-character messages, as their content.
    auto messages =
        subscribe() | streams::filter([](const message& msg) { return msg.content.size() == 1; }) |
        streams::map([](message msg) { return std::move(msg.content); }) | streams::take(3);
    for (;;) {
      std::optional<kyoto::bytes> content = co_await messages.next();
      if (!content) break;
      std::cout << "got = " << *content << '\n';
    }
  }
}

// ---------------------------------------------------------------- 3. implementing a stream

/// The chapter's `Interval`: `rem` ticks 10 ms apart, the first at once. In
/// Rust, poll_next() is a state machine around a `Delay`; in kyoto, next()
/// is any awaitable giving std::optional<T> — here a coroutine that sleeps
/// until the next deadline. The item is the tick's number (the chapter's
/// is `()`).
class interval {
 public:
  explicit interval(int rem) : rem_(rem), when_(kyoto::time::clock::now()) {}

  /// `co_await next()`: the next tick, or nullopt once `rem` ticks are out.
  /// The interval must outlive the call (as for every stream).
  kyoto::task<std::optional<int>> next() {
    if (rem_ == 0) co_return std::nullopt;
    co_await kyoto::time::sleep_until(when_);
    when_ += 10ms;
    --rem_;
    co_return ++ticked_;
  }

 private:
  int rem_;                    ///< ticks still to give
  int ticked_ = 0;             ///< ticks given so far
  kyoto::time::instant when_;  ///< the next tick's deadline
};
static_assert(kyoto::async_stream<interval>, "next() gives std::optional<int>: a stream");

kyoto::task<> implementing() {
  std::cout << "-- implementing a stream\n";
  const kyoto::time::instant start = kyoto::time::clock::now();
  interval ticks(3);
  for (;;) {
    std::optional<int> tick = co_await ticks.next();
    if (!tick) break;
    std::cout << "tick " << *tick << '\n';
  }
  // Deadlines at start, +10 ms, +20 ms: never early.
  std::cout << "3 ticks took at least 20 ms: " << std::boolalpha
            << (kyoto::time::clock::now() - start >= 20ms) << '\n';

  // A hand-written stream takes adapters like any other.
  auto firsts = interval(5) | streams::map([](int tick) { return tick * 100; }) | streams::take(2);
  for (;;) {
    std::optional<int> v = co_await firsts.next();
    if (!v) break;
    std::cout << "mapped tick " << *v << '\n';
  }
}

// ---------------------------------------------------------------- 4. stream!

/// async-stream's
///
///     stream! {
///         let mut when = Instant::now();
///         for _ in 0..3 {
///             Delay { when }.await;
///             yield ();
///             when += Duration::from_millis(10);
///         }
///     }
///
/// is a coroutine returning kyoto::stream<T>: co_await anything, co_yield
/// the items. The body runs inside the consumer's next() calls.
kyoto::stream<int> ticks(int count) {
  kyoto::time::instant when = kyoto::time::clock::now();
  for (int i = 1; i <= count; ++i) {
    co_await kyoto::time::sleep_until(when);
    co_yield i;
    when += 10ms;
  }
}

kyoto::task<> generator() {
  std::cout << "-- stream! as a kyoto::stream coroutine\n";
  kyoto::stream<int> s = ticks(3);
  for (;;) {
    std::optional<int> tick = co_await s.next();
    if (!tick) break;
    std::cout << "tick " << *tick << '\n';
  }
  // Consumed by a task-returning adapter: fold sums the ticks.
  const int sum = co_await (ticks(4) | streams::fold(0, [](int acc, int t) { return acc + t; }));
  std::cout << "sum of 4 ticks = " << sum << '\n';
}

KYOTO_MAIN() {
  co_await iteration();
  co_await subscription();
  co_await implementing();
  co_await generator();
}
