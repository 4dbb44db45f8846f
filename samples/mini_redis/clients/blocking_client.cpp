// mini-redis's blocking client (upstream src/clients/blocking_client.rs).
#include "blocking_client.hpp"

#include <utility>

namespace mini_redis::clients {

blocking_client blocking_client::connect(const std::string& addr) {
  auto rt = std::make_unique<kyoto::runtime>(kyoto::runtime::builder::current_thread().build());
  client inner = rt->block_on(client::connect(addr));
  return blocking_client(std::move(rt), std::move(inner));
}

kyoto::bytes blocking_client::ping(std::optional<kyoto::bytes> msg) {
  return rt_->block_on(inner_.ping(std::move(msg)));
}

std::optional<kyoto::bytes> blocking_client::get(std::string_view key) {
  return rt_->block_on(inner_.get(key));
}

void blocking_client::set(std::string_view key, kyoto::bytes value) {
  rt_->block_on(inner_.set(key, std::move(value)));
}

void blocking_client::set_expires(std::string_view key, kyoto::bytes value,
                                  std::chrono::milliseconds expiration) {
  rt_->block_on(inner_.set_expires(key, std::move(value), expiration));
}

std::uint64_t blocking_client::publish(std::string_view channel, kyoto::bytes message) {
  return rt_->block_on(inner_.publish(channel, std::move(message)));
}

blocking_subscriber blocking_client::subscribe(std::vector<std::string> channels) && {
  subscriber s = rt_->block_on(std::move(inner_).subscribe(std::move(channels)));
  return blocking_subscriber(std::move(rt_), std::move(s));
}

std::optional<message> blocking_subscriber::next_message() {
  return rt_->block_on(inner_.next_message());
}

void blocking_subscriber::subscribe(const std::vector<std::string>& channels) {
  rt_->block_on(inner_.subscribe(channels));
}

void blocking_subscriber::unsubscribe(const std::vector<std::string>& channels) {
  rt_->block_on(inner_.unsubscribe(channels));
}

}  // namespace mini_redis::clients
