// tokio's topic "Bridging with sync code": "A synchronous interface to
// mini-redis" — a blocking client that owns a current_thread runtime and
// block_on()s the async client's calls (docs/tutorial/bridging.md), used
// from a plain main.
//
//   bridging_client [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "clients/client.hpp"

#include <kyoto/kyoto.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <utility>

/// Established connection with a Redis server, driven by its own runtime.
/// Not thread-safe: one thread uses it at a time.
class blocking_client {
 public:
  /// Connects to the server at `addr`. Throws std::system_error when it
  /// cannot.
  static blocking_client connect(const std::string& addr) {
    kyoto::runtime rt = kyoto::runtime::builder::current_thread().enable_all().build();

    // Call the asynchronous connect method using the runtime.
    mini_redis::clients::client inner = rt.block_on(mini_redis::clients::client::connect(addr));

    return blocking_client(std::move(rt), std::move(inner));
  }

  /// GET: the value, or std::nullopt.
  std::optional<kyoto::bytes> get(const std::string& key) { return rt_.block_on(inner_.get(key)); }

  /// SET key value.
  void set(const std::string& key, kyoto::bytes value) {
    rt_.block_on(inner_.set(key, std::move(value)));
  }

 private:
  blocking_client(kyoto::runtime rt, mini_redis::clients::client inner)
      : rt_(std::move(rt)), inner_(std::move(inner)) {}

  // The runtime is declared first so that it is destroyed last: the
  // connection closes on it.
  kyoto::runtime rt_;
  /// The `client` we wrap.
  mini_redis::clients::client inner_;
};

int main(int argc, char** argv) {
  blocking_client client = blocking_client::connect(argc > 1 ? argv[1] : "127.0.0.1:6379");

  client.set("hello", kyoto::bytes::from_static("world"));

  std::optional<kyoto::bytes> result = client.get("hello");

  std::cout << "got value from the server; result=";
  if (result) {
    std::cout << "Some(" << *result << ")\n";
  } else {
    std::cout << "None\n";
  }
}
