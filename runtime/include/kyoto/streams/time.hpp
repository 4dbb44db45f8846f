// kyoto::streams::{timeout, throttle, chunks_timeout}: adapters that use
// time (tokio-stream's StreamExt::timeout, throttle, chunks_timeout).
#pragma once

#include <kyoto/runtime/result.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/stream/async_stream.hpp>
#include <kyoto/streams/pipe.hpp>
#include <kyoto/time/sleep.hpp>
#include <kyoto/time/timeout.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace kyoto::streams {

/// Each item of `s` as a `result<T, time::elapsed>` (tokio's Timeout):
/// an item that has not come `d` after the previous one (or after the
/// first next()) gives one `elapsed` error item; the stream then waits for
/// that item without a deadline (one `elapsed` per item at most), and the
/// next deadline runs from its arrival.
///
/// Cancel safety: a cancelled next() on it is safe. Inside, an elapsed
/// wait cancels its input's next(): the input must be cancel safe (every
/// kyoto stream is).
template <async_stream S, class Rep, class Period>
stream<kyoto::result<stream_item_t<S>, time::elapsed>> timeout(
    S s, std::chrono::duration<Rep, Period> d) {
  using T = stream_item_t<S>;
  using R = kyoto::result<T, time::elapsed>;
  const auto period = std::chrono::duration_cast<time::clock::duration>(d);
  time::instant deadline = time::clock::now() + period;
  bool armed = true;  // no elapsed reported since the last item
  for (;;) {
    std::optional<T> v;
    if (armed) {
      auto r = co_await time::timeout_at(deadline, s.next());
      if (!r.has_value()) {
        armed = false;
        co_yield R(kyoto::unexpected(time::elapsed{}));
        continue;
      }
      v = std::move(*r);
    } else {
      v = co_await s.next();
    }
    if (!v) co_return;
    deadline = time::clock::now() + period;
    armed = true;
    co_yield R(std::move(*v));
  }
}

/// The items of `s`, at least `d` apart: after an item, `s` is not polled
/// again until `d` has passed (tokio's Throttle). Cancel safe, whatever the
/// input (a cancelled next() leaves the body in its sleep or its input's
/// next()).
template <async_stream S, class Rep, class Period>
stream<stream_item_t<S>> throttle(S s, std::chrono::duration<Rep, Period> d) {
  const auto period = std::chrono::duration_cast<time::clock::duration>(d);
  std::optional<time::instant> last;
  for (;;) {
    if (last) co_await time::sleep_until(*last + period);
    std::optional<stream_item_t<S>> v = co_await s.next();
    if (!v) co_return;
    last = time::clock::now();
    co_yield std::move(*v);
  }
}

/// The items of `s` in vectors of at most `max` items: a chunk is given
/// when it is full, or `d` after its first item came, or at the end (if
/// not empty). Precondition: max > 0.
///
/// Cancel safety: a cancelled next() on it is safe (the chunk being filled
/// stays in the body). Inside, the wait for a chunk's deadline cancels its
/// input's next(): the input must be cancel safe.
template <async_stream S, class Rep, class Period>
stream<std::vector<stream_item_t<S>>> chunks_timeout(S s, std::size_t max,
                                                     std::chrono::duration<Rep, Period> d) {
  using T = stream_item_t<S>;
  const auto period = std::chrono::duration_cast<time::clock::duration>(d);
  for (;;) {
    std::vector<T> chunk;
    std::optional<T> first = co_await s.next();
    if (!first) co_return;
    chunk.push_back(std::move(*first));
    const time::instant deadline = time::clock::now() + period;
    bool ended = false;
    while (chunk.size() < max) {
      auto r = co_await time::timeout_at(deadline, s.next());
      if (!r.has_value()) break;
      std::optional<T> v = std::move(*r);
      if (!v) {
        ended = true;
        break;
      }
      chunk.push_back(std::move(*v));
    }
    co_yield std::move(chunk);
    if (ended) co_return;
  }
}

/// `s | timeout(d)`.
template <class Rep, class Period>
auto timeout(std::chrono::duration<Rep, Period> d) {
  return adapter_closure([d]<class S>(S s) { return timeout(std::move(s), d); });
}
/// `s | throttle(d)`.
template <class Rep, class Period>
auto throttle(std::chrono::duration<Rep, Period> d) {
  return adapter_closure([d]<class S>(S s) { return throttle(std::move(s), d); });
}
/// `s | chunks_timeout(max, d)`.
template <class Rep, class Period>
auto chunks_timeout(std::size_t max, std::chrono::duration<Rep, Period> d) {
  return adapter_closure([max, d]<class S>(S s) { return chunks_timeout(std::move(s), max, d); });
}

}  // namespace kyoto::streams
