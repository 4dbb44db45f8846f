// kyoto::local_set and kyoto::spawn_local (tokio's LocalSet docs example,
// ported): tasks that share state which is not thread-safe — here a plain
// std::map and an unsynchronised counter — because they all run on the one
// thread that owns the set (docs/concurrency.md).
#include <kyoto/kyoto.hpp>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <string>

using namespace std::chrono_literals;

namespace {

/// State that must stay on one thread: no lock, no atomic.
struct word_counts {
  std::map<std::string, int> counts;
  int updates = 0;
};

kyoto::task<> count_words(word_counts& state, std::string text, std::chrono::milliseconds delay) {
  co_await kyoto::time::sleep(delay);  // suspends; resumes on the same thread
  std::string word;
  for (char c : text + " ") {
    if (c != ' ') {
      word += c;
    } else if (!word.empty()) {
      ++state.counts[word];
      ++state.updates;
      word.clear();
    }
  }
}

}  // namespace

int main() {
  kyoto::runtime rt = kyoto::runtime::builder::current_thread().build();
  kyoto::local_set local;  // owned by this thread
  word_counts state;

  // Spawned before the set runs: they start when it does.
  auto first =
      local.spawn_local(count_words, std::ref(state), std::string("the quick brown fox"), 2ms);

  local.block_on(rt, [&]() -> kyoto::task<> {
    // Inside the set, kyoto::spawn_local puts tasks into it.
    auto a = kyoto::spawn_local(count_words, std::ref(state), std::string("the lazy dog"), 1ms);
    auto b = kyoto::spawn_local(count_words, std::ref(state), std::string("the end"), 3ms);
    co_await first;
    co_await a;
    co_await b;
  }());

  std::cout << state.updates << " words counted on one thread\n";
  for (const auto& [word, n] : state.counts)
    std::cout << word << ": " << n << '\n';
}
