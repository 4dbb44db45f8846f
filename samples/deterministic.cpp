// docs/testing.md: deterministic mode. Two tasks withdraw from one account
// with a check-then-act race (the check and the update are separated by an
// await). Most interleavings are fine; a few overdraw. Run under the
// deterministic runtime, each seed is one interleaving, the same on every
// run: the search finds an overdrawing seed, replays it exactly, and shows
// that the fixed code (a kyoto::sync::mutex around check and update)
// survives every seed.
#include <kyoto/kyoto.hpp>

#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

struct account {
  int balance = 100;
  std::vector<std::string> log;  ///< what happened, in order
};

/// Withdraws `amount` if the balance covers it. The bug: another task may
/// withdraw between the check and the update.
kyoto::task<> withdraw_racy(std::shared_ptr<account> acct, std::string who, int amount) {
  if (acct->balance >= amount) {
    acct->log.push_back(who + " sees " + std::to_string(acct->balance));
    co_await kyoto::yield_now();  // e.g. a call to a fraud check service
    acct->balance -= amount;
    acct->log.push_back(who + " takes " + std::to_string(amount));
  }
}

/// The fix: the account behind a lock, held across the check and the
/// update.
kyoto::task<> withdraw_locked(std::shared_ptr<kyoto::sync::mutex<account>> acct, std::string who,
                              int amount) {
  auto guard = co_await acct->lock();
  if (guard->balance >= amount) {
    co_await kyoto::yield_now();
    guard->balance -= amount;
    guard->log.push_back(who + " takes " + std::to_string(amount));
  }
}

/// One run of the racy program under `seed`: the account afterwards.
account run_racy(std::uint64_t seed) {
  auto rt = kyoto::runtime::builder::deterministic(seed).build();
  return rt.block_on([]() -> kyoto::task<account> {
    auto acct = std::make_shared<account>();
    auto alice = kyoto::spawn(withdraw_racy(acct, "alice", 80));
    auto bob = kyoto::spawn(withdraw_racy(acct, "bob", 70));
    co_await alice;
    co_await bob;
    co_return *acct;
  }());
}

account run_locked(std::uint64_t seed) {
  auto rt = kyoto::runtime::builder::deterministic(seed).build();
  return rt.block_on([]() -> kyoto::task<account> {
    auto acct = std::make_shared<kyoto::sync::mutex<account>>(account{});
    auto alice = kyoto::spawn(withdraw_locked(acct, "alice", 80));
    auto bob = kyoto::spawn(withdraw_locked(acct, "bob", 70));
    co_await alice;
    co_await bob;
    co_return *co_await acct->lock();
  }());
}

}  // namespace

int main() {
  std::optional<std::uint64_t> bad;
  int overdrawn = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    if (run_racy(seed).balance < 0) {
      ++overdrawn;
      if (!bad) bad = seed;
    }
  }
  std::cout << "racy withdrawals: " << overdrawn << " of 100 seeds overdraw\n";
  if (!bad) return 1;

  // The failing seed replays the failing run, step for step.
  const account first = run_racy(*bad);
  const account again = run_racy(*bad);
  std::cout << "seed " << *bad << " ends with balance " << first.balance << ":\n";
  for (const auto& line : first.log)
    std::cout << "  " << line << '\n';
  std::cout << "replayed: " << (first.log == again.log ? "the same run" : "a different run")
            << '\n';

  int locked_bad = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    if (run_locked(seed).balance < 0) ++locked_bad;
  }
  std::cout << "locked withdrawals: " << locked_bad << " of 100 seeds overdraw\n";
}
