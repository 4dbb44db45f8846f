// tokio's Notify examples, ported (docs/sync.md, "notify"):
//   1. a task waits for the notification main sends (Notify's first example);
//   2. notify_waiters() completes the notifieds created before it;
//   3. a multi-consumer channel built on notify_one(), whose receivers
//      enable() their notified before checking the queue, so a value sent in
//      between is never missed (Notified::enable's example).
// The output does not depend on scheduling.
#include <kyoto/macros/main.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync/notify.hpp>

#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

// ---- 1. notify_one() ----

kyoto::task<> receive_notification(std::shared_ptr<kyoto::sync::notify> notify) {
  co_await notify->notified();
  std::cout << "received notification\n";
}

// ---- 2. notify_waiters() ----

kyoto::task<> send_notifications(std::shared_ptr<kyoto::sync::notify> notify) {
  std::cout << "sending notifications\n";
  notify->notify_waiters();
  co_return;
}

// ---- 3. an unbounded multi-producer, multi-consumer channel ----

template <class T>
class channel {
 public:
  void send(T value) {
    {
      std::lock_guard lock(mutex_);
      values_.push_back(std::move(value));
    }
    // Wakes one receiver waiting in recv(), or stores the permit.
    notify_on_sent_.notify_one();
  }

  std::optional<T> try_recv() {
    std::lock_guard lock(mutex_);
    if (values_.empty()) return std::nullopt;
    T value = std::move(values_.front());
    values_.pop_front();
    return value;
  }

  kyoto::task<T> recv() {
    kyoto::sync::notified sent = notify_on_sent_.notified();
    for (;;) {
      // Queue up before looking: a send() between try_recv() and the await
      // then picks this notified instead of storing a permit that another
      // receiver could take.
      sent.enable();
      if (std::optional<T> value = try_recv()) co_return std::move(*value);
      co_await sent;
      sent = notify_on_sent_.notified();  // tokio's future.set(...)
    }
  }

 private:
  std::mutex mutex_;
  std::deque<T> values_;
  kyoto::sync::notify notify_on_sent_;
};

kyoto::task<int> sum_of_three(channel<int>* ch) {
  int sum = 0;
  for (int i = 0; i < 3; ++i)
    sum += co_await ch->recv();
  co_return sum;
}

KYOTO_MAIN() {
  // 1.
  auto notify = std::make_shared<kyoto::sync::notify>();
  auto receiver = kyoto::spawn(receive_notification(notify));
  std::cout << "sending notification\n";
  notify->notify_one();
  co_await receiver;  // wait for the task to receive the notification

  // 2.
  kyoto::sync::notified notified1 = notify->notified();
  kyoto::sync::notified notified2 = notify->notified();
  auto sender = kyoto::spawn(send_notifications(notify));
  co_await notified1;
  co_await notified2;
  std::cout << "received notifications\n";
  co_await sender;

  // 3.
  channel<int> ch;
  auto consumer1 = kyoto::spawn(sum_of_three(&ch));
  auto consumer2 = kyoto::spawn(sum_of_three(&ch));
  for (int i = 1; i <= 6; ++i)
    ch.send(i);
  const int first = co_await consumer1;
  const int second = co_await consumer2;
  const int total = first + second;
  std::cout << "two receivers got 6 values, summing to " << total << '\n';
}
