// mini-redis's buffered client (upstream src/clients/buffered_client.rs).
#include "buffered_client.hpp"

#include "../error.hpp"

#include <kyoto/runtime/result.hpp>
#include <kyoto/runtime/spawn.hpp>
#include <kyoto/sync/oneshot.hpp>

#include <utility>
#include <variant>

namespace mini_redis::clients {

namespace {

using reply = kyoto::result<std::optional<kyoto::bytes>, std::exception_ptr>;

// The task owning the connection: one request at a time, in order.
kyoto::task<> run(client c, kyoto::sync::mpsc::receiver<detail::buffered_request> rx) {
  for (;;) {
    std::optional<detail::buffered_request> msg = co_await rx.recv();
    if (!msg) co_return;  // every handle is gone
    std::optional<reply> response;
    try {
      if (auto* g = std::get_if<detail::buffered_get>(&msg->command)) {
        response.emplace(co_await c.get(g->key));
      } else {
        auto& s = std::get<detail::buffered_set>(msg->command);
        co_await c.set(s.key, std::move(s.value));
        response.emplace(std::nullopt);
      }
    } catch (...) {
      response.emplace(kyoto::unexpected(std::current_exception()));
    }
    (void)msg->tx.send(std::move(*response));  // the caller may be gone
  }
}

}  // namespace

buffered_client buffered_client::buffer(client c) {
  auto [tx, rx] = kyoto::sync::mpsc::channel<detail::buffered_request>(32);
  kyoto::spawn(run(std::move(c), std::move(rx)));
  return buffered_client(std::move(tx));
}

kyoto::task<std::optional<kyoto::bytes>> buffered_client::request(
    std::variant<detail::buffered_get, detail::buffered_set> command) {
  auto [tx, rx] = kyoto::sync::oneshot::channel<reply>();
  detail::buffered_request r{std::move(command), std::move(tx)};
  auto sent = co_await tx_.send(std::move(r));
  if (!sent) throw error("channel closed");
  auto response = co_await std::move(rx);
  if (!response) throw error("channel closed");
  reply out = std::move(*response);
  if (!out) std::rethrow_exception(out.error());
  co_return std::move(*out);
}

kyoto::task<std::optional<kyoto::bytes>> buffered_client::get(std::string_view key) {
  std::variant<detail::buffered_get, detail::buffered_set> command =
      detail::buffered_get{std::string(key)};
  co_return co_await request(std::move(command));
}

kyoto::task<> buffered_client::set(std::string_view key, kyoto::bytes value) {
  std::variant<detail::buffered_get, detail::buffered_set> command =
      detail::buffered_set{std::string(key), std::move(value)};
  (void)co_await request(std::move(command));
}

}  // namespace mini_redis::clients
