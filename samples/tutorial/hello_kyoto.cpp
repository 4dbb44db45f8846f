// tokio's tutorial, "Hello Tokio": a client that sets "hello" to "world"
// on a mini-redis server and reads it back (docs/tutorial/hello-kyoto.md).
//
//   hello_kyoto [ADDR]      (default: mini-redis's 127.0.0.1:6379)
#include "clients/client.hpp"

#include <kyoto/kyoto.hpp>

#include <iostream>
#include <optional>

KYOTO_MAIN(argc, argv) {
  // Open a connection to the mini-redis address.
  auto client =
      co_await mini_redis::clients::client::connect(argc > 1 ? argv[1] : "127.0.0.1:6379");

  // Set the key "hello" with value "world"
  co_await client.set("hello", kyoto::bytes::from_static("world"));

  // Get key "hello"
  std::optional<kyoto::bytes> result = co_await client.get("hello");

  std::cout << "got value from the server; result=";
  if (result) {
    std::cout << "Some(" << *result << ")\n";
  } else {
    std::cout << "None\n";
  }
}
