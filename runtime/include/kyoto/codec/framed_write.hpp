// kyoto::codec::framed_write: a sink of items encoded to a writer
// (tokio-util's FramedWrite). Buffering and back-pressure are described in
// <kyoto/codec/detail/framed_impl.hpp>.
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>
#include <kyoto/codec/encoder.hpp>
#include <kyoto/io/concepts.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/codec/detail/framed_impl.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace kyoto::codec {

/// Encodes items with `E` and writes them to `W` (tokio-util's
/// FramedWrite, a Sink):
///
/// - `co_await fw.feed(item)` encodes the item into the write buffer, then,
///   if the buffer holds at least backpressure_boundary() bytes (8 KiB by
///   default), writes it all out before completing. It does not flush.
/// - `co_await fw.send(item)`: feed, then flush (tokio's SinkExt::send).
/// - `co_await fw.flush()` writes the whole buffer and flushes `W`.
/// - `co_await fw.close()`: flush, then shut `W` down.
///
/// The item is encoded when feed()/send() is *called* (the awaitable it
/// returns only writes), so an item that borrows (a std::string_view) need
/// only live until the call returns. A feed below the high-water mark
/// completes in await_ready(), with no coroutine frame.
///
/// Errors: the encoder's codec_error is thrown by the feed()/send() call,
/// and the item is then not buffered; a write error of `W` is thrown by the
/// awaited task as `W` reports it (std::system_error), a write taking 0
/// bytes as io::errc::write_zero. After a write error the buffer holds
/// exactly the bytes `W` did not take: flushing again retries them.
///
/// Dropping a framed_write with bytes buffered loses them: flush first.
/// Cancel safety: not cancel safe in general (as the writer's writes); the
/// buffer always holds exactly what was not taken by `W`.
/// Thread safety: one task at a time; resumes on the awaiting task's
/// thread. It must not move while an operation is awaited.
template <io::async_write W, class E>
class framed_write {
 public:
  /// Frames `inner` with `codec` (tokio's FramedWrite::new).
  framed_write(W inner, E codec) : inner_(static_cast<W&&>(inner)), codec_(std::move(codec)) {}

  /// Encodes `item` and writes the buffer out if it passed the high-water
  /// mark (see the class comment). Throws the encoder's codec_error.
  template <class Item>
    requires kyoto::codec::encoder<E, Item>
  detail::framed_feed_awaiter<std::remove_reference_t<W>> feed(Item&& item) {
    codec_.encode(std::forward<Item>(item), state_.buffer);
    return {inner_, state_};
  }
  /// Encodes `item`, writes everything buffered and flushes `W`.
  template <class Item>
    requires kyoto::codec::encoder<E, Item>
  task<void> send(Item&& item) {
    codec_.encode(std::forward<Item>(item), state_.buffer);
    return detail::framed_flush(inner_, state_);
  }
  /// Writes everything buffered and flushes `W`.
  task<void> flush() { return detail::framed_flush(inner_, state_); }
  /// Flushes, then shuts `W` down (tokio's SinkExt::close).
  task<void> close() { return detail::framed_close(inner_, state_); }

  /// The high-water mark of the write buffer (tokio's
  /// backpressure_boundary).
  [[nodiscard]] std::size_t backpressure_boundary() const noexcept {
    return state_.backpressure_boundary;
  }
  /// Sets the high-water mark (0: every feed writes).
  void set_backpressure_boundary(std::size_t n) noexcept { state_.backpressure_boundary = n; }

  /// The writer.
  [[nodiscard]] W& get_ref() noexcept { return inner_; }
  /// The writer (writing it directly goes before the buffered bytes).
  [[nodiscard]] W& get_mut() noexcept { return inner_; }
  /// Gives the writer back; the buffered bytes are dropped.
  [[nodiscard]] W into_inner() && { return static_cast<W&&>(inner_); }
  /// The codec.
  [[nodiscard]] E& encoder() noexcept { return codec_; }
  /// Replaces the codec, keeping the buffered bytes.
  void set_encoder(E codec) { codec_ = std::move(codec); }
  /// The same writer and buffered bytes with the codec `f(old codec)`
  /// (tokio's map_encoder); this is left moved-from.
  template <class F>
  auto map_encoder(F&& f) && {
    using E2 = std::remove_cvref_t<decltype(f(std::move(codec_)))>;
    framed_write<W, E2> out(static_cast<W&&>(inner_), f(std::move(codec_)));
    out.write_buffer_mut() = std::move(state_.buffer);
    out.set_backpressure_boundary(state_.backpressure_boundary);
    return out;
  }
  /// The bytes encoded but not written yet.
  [[nodiscard]] const bytes_mut& write_buffer() const noexcept { return state_.buffer; }
  /// The write buffer.
  [[nodiscard]] bytes_mut& write_buffer_mut() noexcept { return state_.buffer; }

 private:
  W inner_;
  E codec_;
  detail::write_frame state_;
};

}  // namespace kyoto::codec
