// mini-redis's async client (upstream src/clients/client.rs).
#include "client.hpp"

#include "../cmd/get.hpp"
#include "../cmd/ping.hpp"
#include "../cmd/publish.hpp"
#include "../cmd/set.hpp"
#include "../cmd/subscribe.hpp"
#include "../error.hpp"

#include <kyoto/net/tcp_stream.hpp>

#include <algorithm>
#include <utility>

namespace mini_redis::clients {
namespace {

[[noreturn]] void unexpected_frame(const frame& f) {
  throw error(std::string("unexpected frame: ") + f.to_string());
}

// An array reply whose first two entries are `kind` and (if given) `channel`.
const std::vector<frame>* reply_entries(const frame& f) {
  const auto* a = std::get_if<frame::array>(&f.get());
  return a == nullptr ? nullptr : &a->value;
}

}  // namespace

kyoto::task<client> client::connect(std::string addr) {
  kyoto::net::tcp_stream socket = co_await kyoto::net::tcp_stream::connect(std::move(addr));
  co_return client(connection(std::move(socket)));
}

kyoto::task<> client::send(const frame& request) {
  co_await connection_.write_frame(request);
  co_await connection_.flush();
}

kyoto::task<frame> client::read_response() {
  std::optional<frame> response = co_await connection_.read_frame();
  if (!response) throw error("connection reset by server");
  if (const auto* e = std::get_if<frame::error>(&response->get())) throw error(e->value);
  co_return std::move(*response);
}

kyoto::task<kyoto::bytes> client::ping(std::optional<kyoto::bytes> msg) {
  const frame request = cmd::ping(std::move(msg)).into_frame();
  co_await send(request);
  frame response = co_await read_response();
  if (auto* s = std::get_if<frame::simple>(&response.get()))
    co_return kyoto::bytes(std::move(s->value));
  if (auto* b = std::get_if<frame::bulk>(&response.get())) co_return std::move(b->value);
  unexpected_frame(response);
}

kyoto::task<std::optional<kyoto::bytes>> client::get(std::string_view key) {
  const frame request = cmd::get(std::string(key)).into_frame();
  co_await send(request);
  frame response = co_await read_response();
  if (auto* s = std::get_if<frame::simple>(&response.get()))
    co_return kyoto::bytes(std::move(s->value));
  if (auto* b = std::get_if<frame::bulk>(&response.get())) co_return std::move(b->value);
  if (response.is<frame::null>()) co_return std::nullopt;
  unexpected_frame(response);
}

kyoto::task<> client::set(std::string_view key, kyoto::bytes value) {
  const frame request = cmd::set(std::string(key), std::move(value), std::nullopt).into_frame();
  co_await send(request);
  const frame response = co_await read_response();
  if (!response.is<frame::simple>() || !(response == "OK")) unexpected_frame(response);
}

kyoto::task<> client::set_expires(std::string_view key, kyoto::bytes value,
                                  std::chrono::milliseconds expiration) {
  const frame request = cmd::set(std::string(key), std::move(value), expiration).into_frame();
  co_await send(request);
  const frame response = co_await read_response();
  if (!response.is<frame::simple>() || !(response == "OK")) unexpected_frame(response);
}

kyoto::task<std::uint64_t> client::publish(std::string_view channel, kyoto::bytes message) {
  const frame request = cmd::publish(std::string(channel), std::move(message)).into_frame();
  co_await send(request);
  const frame response = co_await read_response();
  if (const auto* i = std::get_if<frame::integer>(&response.get())) co_return i->value;
  unexpected_frame(response);
}

kyoto::task<subscriber> client::subscribe(std::vector<std::string> channels) && {
  co_await subscribe_cmd(channels);
  co_return subscriber(std::move(*this), std::move(channels));
}

kyoto::task<> client::subscribe_cmd(const std::vector<std::string>& channels) {
  const frame request = cmd::subscribe(channels).into_frame();
  co_await send(request);
  // One confirmation per channel: ["subscribe", channel, count].
  for (const std::string& channel : channels) {
    const frame response = co_await read_response();
    const auto* entries = reply_entries(response);
    if (entries == nullptr || entries->size() < 2 || !((*entries)[0] == "subscribe") ||
        !((*entries)[1] == channel)) {
      unexpected_frame(response);
    }
  }
}

kyoto::task<std::optional<message>> subscriber::next_message() {
  std::optional<frame> mframe = co_await client_.connection_.read_frame();
  if (!mframe) co_return std::nullopt;
  const auto* entries = reply_entries(*mframe);
  if (entries == nullptr || entries->size() != 3 || !((*entries)[0] == "message")) {
    unexpected_frame(*mframe);
  }
  co_return message{(*entries)[1].to_string(), kyoto::bytes((*entries)[2].to_string())};
}

namespace {

kyoto::stream<message> messages_of(subscriber s) {
  for (;;) {
    std::optional<message> m = co_await s.next_message();
    if (!m) co_return;
    co_yield std::move(*m);
  }
}

}  // namespace

kyoto::stream<message> subscriber::into_stream() && {
  return messages_of(std::move(*this));
}

kyoto::task<> subscriber::subscribe(const std::vector<std::string>& channels) {
  co_await client_.subscribe_cmd(channels);
  subscribed_channels_.insert(subscribed_channels_.end(), channels.begin(), channels.end());
}

kyoto::task<> subscriber::unsubscribe(const std::vector<std::string>& channels) {
  const frame request = cmd::unsubscribe(channels).into_frame();
  co_await client_.send(request);
  // One confirmation per channel named, or per channel held if none was.
  const std::size_t num = channels.empty() ? subscribed_channels_.size() : channels.size();
  for (std::size_t i = 0; i < num; ++i) {
    const frame response = co_await client_.read_response();
    const auto* entries = reply_entries(response);
    if (entries == nullptr || entries->size() < 2 || !((*entries)[0] == "unsubscribe")) {
      unexpected_frame(response);
    }
    const std::size_t len = subscribed_channels_.size();
    if (len == 0) unexpected_frame(response);
    const frame& channel = (*entries)[1];
    std::erase_if(subscribed_channels_, [&](const std::string& c) { return channel == c; });
    if (subscribed_channels_.size() != len - 1) unexpected_frame(response);
  }
}

}  // namespace mini_redis::clients
