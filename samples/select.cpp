// tokio's tutorial, "Select", ported: wait on several operations in one
// task, take the first to finish, cancel the rest (docs/concurrency.md).
// Where tokio's example races two tasks, this one decides the order, so
// that the output is always the same.
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <variant>

using namespace std::chrono_literals;
namespace mpsc = kyoto::sync::mpsc;
namespace oneshot = kyoto::sync::oneshot;

// "Cancellation": the losing branch's receiver is dropped, which the task
// holding the sender sees through closed().
kyoto::task<> some_operation_or_closed(oneshot::sender<std::string> tx) {
  auto v = co_await kyoto::select(kyoto::time::sleep(1h), tx.closed());
  if (v.index() == 1) std::cout << "the other side was cancelled: stopping the operation\n";
}

// "Resuming an async operation": an operation that takes a value and
// reports it back.
kyoto::task<std::optional<int>> action(std::optional<int> input) {
  co_return input ? std::optional<int>(*input * 10) : std::nullopt;
}

kyoto::task<> basic_usage() {
  auto [tx1, rx1] = oneshot::channel<std::string>();
  auto [tx2, rx2] = oneshot::channel<std::string>();
  auto worker = kyoto::spawn(some_operation_or_closed(std::move(tx2)));
  tx1.send("one").value();
  auto v = co_await kyoto::select(std::move(rx1), std::move(rx2));
  if (v.index() == 0) std::cout << "rx1 completed first with " << std::get<0>(v).value() << '\n';
  co_await worker;  // rx2 was dropped when select returned
}

// "Return value" and "Errors": select gives a value; an exception in the
// winning branch propagates.
kyoto::task<> return_value_and_errors() {
  auto computation1 = []() -> kyoto::task<std::string> {
    co_return "computation 1";
  };
  auto pending = []() -> kyoto::task<std::string> {
    co_await kyoto::time::sleep(1h);
    co_return "never";
  };
  auto out = co_await kyoto::select_biased(computation1(), pending());
  std::cout << "got = " << std::get<0>(out) << '\n';
  try {
    auto failing = []() -> kyoto::task<int> {
      throw std::runtime_error("branch failed");
    };
    (void)co_await kyoto::select(failing(), pending());
  } catch (const std::exception& e) {
    std::cout << "error: " << e.what() << '\n';
  }
}

// "Pattern matching" with `else`: read two channels until both are closed.
kyoto::task<> pattern_matching() {
  auto [tx1, rx1] = mpsc::channel<int>(8);
  auto [tx2, rx2] = mpsc::channel<int>(8);
  (co_await tx1.send(1)).value();
  (co_await tx2.send(2)).value();
  {
    auto drop1 = std::move(tx1);
    auto drop2 = std::move(tx2);
  }
  bool open1 = true;
  bool open2 = true;
  int sum = 0;
  for (;;) {
    try {
      auto v =
          co_await kyoto::select(kyoto::when(open1, rx1.recv()), kyoto::when(open2, rx2.recv()));
      std::optional<int> got = v.index() == 0 ? std::get<0>(v) : std::get<1>(v);
      if (got) {
        sum += *got;
      } else {
        (v.index() == 0 ? open1 : open2) = false;
      }
    } catch (const kyoto::all_branches_disabled&) {
      std::cout << "both channels closed\n";
      break;
    }
  }
  std::cout << "sum of received values: " << sum << '\n';
}

// "Resuming an async operation" and "Modifying a branch": the operation
// lives across iterations (passed by reference), is replaced when an even
// number arrives, and is disabled while it has nothing to do.
kyoto::task<> resuming_an_operation() {
  auto [tx, rx] = mpsc::channel<int>(128);
  for (int i : {1, 3, 6, 7, 8}) {
    (co_await tx.send(i)).value();
  }
  kyoto::task<std::optional<int>> operation = action(std::nullopt);
  bool done = false;
  for (;;) {
    auto v = co_await kyoto::select_biased(kyoto::when(!done, operation), rx.recv());
    if (v.index() == 0) {
      done = true;
      if (std::optional<int> result = std::get<0>(v)) {
        std::cout << "GOT = " << *result << '\n';
        break;
      }
    } else if (std::optional<int> n = std::get<1>(v); n && *n % 2 == 0) {
      operation = action(n);
      done = false;
    } else if (!n) {
      break;
    }
  }
}

KYOTO_MAIN() {
  co_await basic_usage();
  co_await return_value_and_errors();
  co_await pattern_matching();
  co_await resuming_an_operation();
}
