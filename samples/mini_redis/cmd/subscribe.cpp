// mini-redis's SUBSCRIBE and UNSUBSCRIBE (upstream src/cmd/subscribe.rs).
#include "subscribe.hpp"

#include "command.hpp"
#include "unknown.hpp"

#include <kyoto/runtime/select.hpp>
#include <kyoto/stream.hpp>
#include <kyoto/stream/stream_map.hpp>
#include <kyoto/sync/broadcast.hpp>

#include <algorithm>
#include <variant>

namespace mini_redis::cmd {
namespace {

// One channel's messages: the broadcast receiver as a stream that skips
// over lags and ends when the channel closes (upstream's async_stream!).
kyoto::stream<kyoto::bytes> messages(kyoto::sync::broadcast::receiver<kyoto::bytes> rx) {
  for (;;) {
    auto r = co_await rx.recv();
    if (r) {
      co_yield std::move(*r);
    } else if (!r.error().is_lagged()) {
      co_return;
    }
  }
}

// The subscriptions: the streams, and the channel names in the order
// tokio's StreamMap keeps them (insert pushes; remove swaps the last entry
// into the hole), which UNSUBSCRIBE with no argument answers in.
struct subscriptions {
  kyoto::stream_map<std::string, kyoto::stream<kyoto::bytes>> streams;
  std::vector<std::string> keys;

  void insert(std::string name, kyoto::stream<kyoto::bytes> s) {
    remove(name);
    streams.insert(name, std::move(s));
    keys.push_back(std::move(name));
  }
  void remove(const std::string& name) {
    auto it = std::find(keys.begin(), keys.end(), name);
    if (it == keys.end()) return;
    *it = std::move(keys.back());
    keys.pop_back();
    streams.remove(name);
  }
  std::size_t size() const noexcept { return keys.size(); }
};

frame make_frame(std::string_view kind, std::string channel_name, frame last) {
  frame response = frame::make_array();
  response.push_bulk(kyoto::bytes::copy_from_slice(kind));
  response.push_bulk(kyoto::bytes(std::move(channel_name)));
  std::get<frame::array>(response.get()).value.push_back(std::move(last));
  return response;
}

kyoto::task<> subscribe_to_channel(std::string channel_name, subscriptions& subs, db& store,
                                   connection& dst) {
  subs.insert(channel_name, messages(store.subscribe(channel_name)));
  const frame response =
      make_frame("subscribe", std::move(channel_name), frame::integer{subs.size()});
  co_await dst.write_frame(response);
}

// A command read while subscribed.
kyoto::task<> handle_command(frame f, std::vector<std::string>& subscribe_to, subscriptions& subs,
                             connection& dst) {
  command cmd = command::from_frame(std::move(f));
  if (auto* s = std::get_if<cmd::subscribe>(&cmd.get())) {
    for (const std::string& c : s->channels())
      subscribe_to.push_back(c);
  } else if (auto* u = std::get_if<cmd::unsubscribe>(&cmd.get())) {
    std::vector<std::string> channels = std::move(u->channels());
    if (channels.empty()) channels = subs.keys;
    for (std::string& channel_name : channels) {
      subs.remove(channel_name);
      const frame response =
          make_frame("unsubscribe", std::move(channel_name), frame::integer{subs.size()});
      co_await dst.write_frame(response);
    }
  } else {
    const unknown reply{std::string(cmd.get_name())};
    co_await reply.apply(dst);
  }
}

/// Appends the frame's remaining strings to `channels` (SUBSCRIBE's and
/// UNSUBSCRIBE's channel lists); throws on a part that is not a string.
void push_remaining_strings(parse& p, std::vector<std::string>& channels) {
  for (;;) {
    auto s = p.next_string();
    if (s) {
      channels.push_back(std::move(*s));
    } else if (s.error().end_of_stream) {
      break;
    } else {
      throw_parse_error(s.error());
    }
  }
}

}  // namespace

subscribe subscribe::parse_frames(parse& p) {
  std::vector<std::string> channels{value_or_throw(p.next_string())};
  push_remaining_strings(p, channels);
  return subscribe(std::move(channels));
}

kyoto::task<> subscribe::apply(db& store, connection& dst, shutdown& sd) {
  subscriptions subs;
  for (;;) {
    // Subscribe to the channels asked for (first the command's, later
    // those of SUBSCRIBE commands read below).
    std::vector<std::string> pending = std::move(channels_);
    channels_.clear();
    for (std::string& name : pending)
      co_await subscribe_to_channel(std::move(name), subs, store, dst);
    co_await dst.flush();

    // The stream map's branch is off while it is empty (upstream's pattern
    // `Some(..) = subscriptions.next()` does the same).
    auto r = co_await kyoto::select(kyoto::when(subs.size() > 0, subs.streams.next()),
                                    dst.read_frame(), sd.recv());
    if (r.index() == 0) {
      auto& item = std::get<0>(r);
      if (!item) continue;  // every stream ended
      const frame message =
          make_frame("message", std::move(item->first), frame::bulk{std::move(item->second)});
      co_await dst.write_frame(message);
    } else if (r.index() == 1) {
      std::optional<frame>& f = std::get<1>(r);
      if (!f) co_return;  // the peer closed
      co_await handle_command(std::move(*f), channels_, subs, dst);
    } else {
      co_return;  // the server is shutting down
    }
  }
}

frame subscribe::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("subscribe"));
  for (const std::string& c : channels_)
    f.push_bulk(kyoto::bytes::copy_from_slice(c));
  return f;
}

unsubscribe unsubscribe::parse_frames(parse& p) {
  std::vector<std::string> channels;
  push_remaining_strings(p, channels);
  return unsubscribe(std::move(channels));
}

frame unsubscribe::into_frame() const {
  frame f = frame::make_array();
  f.push_bulk(kyoto::bytes::from_static("unsubscribe"));
  for (const std::string& c : channels_)
    f.push_bulk(kyoto::bytes::copy_from_slice(c));
  return f;
}

}  // namespace mini_redis::cmd
