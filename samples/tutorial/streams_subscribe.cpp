// tokio's tutorial, "Streams", its "Mini-Redis broadcast": a task publishes
// six messages on the mini-redis channel "numbers"; main subscribes to it
// and reads the subscription as a stream, through take, then filter | map |
// take (docs/tutorial/streams.md).
//
//   streams_subscribe [ADDR]      (default: mini-redis's 127.0.0.1:6379)
//
// tokio's page starts the publisher first and may miss messages; here the
// subscription is in place before the publisher starts, so the output is
// the same on every run.
#include "clients/client.hpp"

#include <kyoto/kyoto.hpp>
#include <kyoto/streams.hpp>

#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace streams = kyoto::streams;
using mini_redis::clients::message;

std::ostream& operator<<(std::ostream& os, const message& m) {
  return os << "Message { channel: \"" << m.channel << "\", content: " << m.content << " }";
}

kyoto::task<> publish(std::string addr) {
  auto client = co_await mini_redis::clients::client::connect(addr);

  // Publish some data
  co_await client.publish("numbers", kyoto::bytes::from_static("1"));
  co_await client.publish("numbers", kyoto::bytes::from_static("two"));
  co_await client.publish("numbers", kyoto::bytes::from_static("3"));
  co_await client.publish("numbers", kyoto::bytes::from_static("four"));
  co_await client.publish("numbers", kyoto::bytes::from_static("five"));
  co_await client.publish("numbers", kyoto::bytes::from_static("6"));
}

kyoto::task<mini_redis::clients::subscriber> subscribe(std::string addr) {
  auto client = co_await mini_redis::clients::client::connect(addr);
  // A named vector: GCC 12 cannot keep an initializer_list across a
  // co_await.
  std::vector<std::string> channels{"numbers"};
  co_return co_await std::move(client).subscribe(std::move(channels));
}

KYOTO_MAIN(argc, argv) {
  const std::string addr = argc > 1 ? argv[1] : "127.0.0.1:6379";

  {
    auto subscriber = co_await subscribe(addr);
    auto publisher = kyoto::spawn(publish(addr));

    auto messages = std::move(subscriber).into_stream() | streams::take(3);
    while (std::optional<message> msg = co_await messages.next()) {
      std::cout << "got = " << *msg << '\n';
    }
    co_await publisher;
  }

  {
    auto subscriber = co_await subscribe(addr);
    auto publisher = kyoto::spawn(publish(addr));

    auto messages = std::move(subscriber).into_stream() |
                    streams::filter([](const message& msg) { return msg.content.size() == 1; }) |
                    streams::map([](message msg) { return std::move(msg.content); }) |
                    streams::take(3);
    while (std::optional<kyoto::bytes> content = co_await messages.next()) {
      std::cout << "got = " << *content << '\n';
    }
    co_await publisher;
  }

  std::cout << "DONE\n";
}
