// kyoto::sync::mpsc: multi-producer, single-consumer channels (tokio's
// sync::mpsc), bounded and unbounded.
//
//   auto [tx, rx] = kyoto::sync::mpsc::channel<int>(100);
//   kyoto::spawn([](auto tx) -> kyoto::task<> {
//     (co_await tx.send(1)).expect("receiver gone");
//   }, tx);                                   // a copy is tokio's tx.clone()
//   while (std::optional<int> v = co_await rx.recv()) { ... }
//
// Values are delivered in the order each sender sent them. recv() yields
// std::nullopt only once every sender is gone (or the receiver closed), no
// permit is outstanding, and the buffer is drained. A send that fails hands
// its value back inside the error, never losing it.
//
// Beyond send/recv, as tokio 1.24 (plus reserve_many and recv_many, from
// later tokio): permits (reserve() and try_reserve() take a slot first, the
// permit's send() then cannot fail; reserve_many(n) takes n; the owned forms
// hold a sender), closed() (wait for the receiver to close), send_timeout(),
// capacity(), weak senders (downgrade()/upgrade(): they do not keep the
// channel open), and recv_many() (take a batch).
//
// Every awaiter is cancel safe in the sense documented on it: destroying a
// suspended one unlinks it from the channel and passes on any slot it had
// been granted. send_timeout_awaiter waits on two things at once (the
// channel and a timer), each with its own wake_node resuming the same
// coroutine: whichever resumes it first withdraws the other (under the
// channel lock, or by cancelling the timer under the driver's lock) and
// purges the other's node from the task if that one fired too, so the
// coroutine is resumed once. The protocol is in detail/chan.hpp.
//
// This header includes the whole API; each concept has its own header under
// mpsc/ (as tokio's sync/mpsc/mod.rs re-exports its files): error.hpp,
// bounded.hpp (channel(), sender, the send and reserve awaiters),
// receiver.hpp (receiver, the recv awaiters), closed_awaiter.hpp,
// permit.hpp (permit, permit_iterator, owned_permit), unbounded.hpp
// (unbounded_channel(), unbounded_sender), weak_sender.hpp. The channel's
// internals are in detail/chan.hpp and detail/mpsc_*.hpp.
/// \namespace kyoto::sync::mpsc
/// Multi-producer, single-consumer channels, bounded and unbounded
/// (tokio::sync::mpsc).
#pragma once

#include <kyoto/sync/mpsc/bounded.hpp>
#include <kyoto/sync/mpsc/closed_awaiter.hpp>
#include <kyoto/sync/mpsc/error.hpp>
#include <kyoto/sync/mpsc/permit.hpp>
#include <kyoto/sync/mpsc/receiver.hpp>
#include <kyoto/sync/mpsc/unbounded.hpp>
#include <kyoto/sync/mpsc/weak_sender.hpp>
