// The stall detector's shared parts (builder::stall_threshold, Seastar's
// reactor-stall report): the record a thread that runs tasks publishes
// around each poll, its read side, and the report. Two monitors read it,
// each from a thread of its own: the multi_thread watchdog
// (multi_thread/watchdog.hpp, one record per worker) and the
// current_thread stall monitor (current_thread/stall_monitor.hpp).
//
// # The poll record (a seqlock)
//
// Around every task it runs, the running thread writes its poll record:
// `seq` (only that thread writes it) goes 4k -> 4k+1 (writing) -> 4k+2 (the
// task runs; the fields below are stable) -> 4k+4 (no task). Between 4k+1
// and 4k+2 it stores the task's id, spawn file and line and (for a named
// task) up to `name_capacity` bytes of its name, all atomics: the task
// itself is never read by the monitor (it may complete and be freed at any
// moment), only this copy. That costs the running thread a few plain stores
// per poll and no read-modify-write; no clock read.
//
// The monitor reads `seq` (acquire), the fields, then `seq` again
// (read_poll()): equal and ≡ 2 (mod 4) means the fields belong to the poll
// it saw. The fields are stored with release and loaded with acquire (plain
// moves on x86; fences would do with relaxed fields, but ThreadSanitizer
// cannot check fences): a field value written for a later poll, after its
// 4k+1 store, makes the second load of `seq` see 4k+1 or later.
//
// # Detection
//
// A monitor samples `seq` every tick; the first tick that sees a running
// value timestamps it, and a running value seen for longer than the
// threshold is reported, once (the monitor remembers the reported seq): one
// report per stalled poll, while it still runs, at warn level.
//
// The multi_thread worker's record (worker.hpp's poll_record) is this one
// plus what only the watchdog needs (the block_in_place flag, the stale
// tick hint), with a release end(): read_poll() and report_stall() take
// either.
#pragma once

#include <kyoto/runtime/detail/config.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>

namespace kyoto::detail {

/// The poll a thread is in, for a stall monitor (file comment). Written by
/// the thread that runs the tasks only (begin(), end()); read by the
/// monitor's thread (read_poll()).
struct poll_record {
  static constexpr std::size_t name_capacity = 48;
  /// 4k: no task; 4k+1: the fields are being written; 4k+2: a task runs.
  atomic<std::uint64_t> seq{0};
  atomic<std::uint64_t> task_id{0};
  atomic<const char*> file{nullptr};  ///< static storage (source_location)
  atomic<std::uint32_t> line{0};
  atomic<std::uint32_t> name_size{0};  ///< bytes of `name` used
  std::array<atomic<char>, name_capacity> name{};

  /// Before running `t`: publishes its identity.
  void begin(const task_header& t) noexcept {
    // The seqlock's write side (file comment): 4k+1 while the fields
    // change. Each field store is a release (a plain store on x86; no
    // fence, which ThreadSanitizer cannot check): it pairs with the
    // monitor's acquire load of that field in read_poll(), so a field value
    // from this poll implies the monitor's next load of seq sees s + 1 or
    // later. The seq load is relaxed: only this thread writes seq.
    const std::uint64_t s = seq.load(std::memory_order_relaxed);
    seq.store(s + 1, std::memory_order_relaxed);
    task_id.store(t.id(), std::memory_order_release);
    const std::source_location where = t.spawn_location();
    file.store(where.file_name(), std::memory_order_release);
    line.store(where.line(), std::memory_order_release);
    const std::string_view n = t.name();
    const std::size_t size = std::min(n.size(), name_capacity);
    name_size.store(static_cast<std::uint32_t>(size), std::memory_order_release);
    for (std::size_t i = 0; i < size; ++i)  // named tasks only
      name[i].store(n[i], std::memory_order_release);
    // Release: publishes the fields; pairs with the monitor's acquire load
    // of seq (before read_poll()).
    seq.store(s + 2, std::memory_order_release);
  }

  /// After the run.
  void end() noexcept {
    // Relaxed: the end of a poll publishes nothing. A monitor that misses
    // it reads this poll's fields, still consistent, and at worst reports
    // a poll that has just ended; the next poll's begin() orders its own
    // fields (its 4k+1 store precedes its release field stores).
    seq.store(seq.load(std::memory_order_relaxed) + 2, std::memory_order_relaxed);
  }
};

/// What a stall report names: a copy of the polled task's identity.
struct poll_identity {
  std::uint64_t id = 0;
  std::string name;            ///< empty: an unnamed task
  const char* file = nullptr;  ///< null or line 0: unknown
  std::uint32_t line = 0;
  const char* spawner = nullptr;  ///< said instead of an unknown location
};

/// The seqlock's read side (file comment): the identity of the poll whose
/// `seq` (≡ 2 mod 4) the monitor loaded with acquire, or nullopt if that
/// poll has ended meanwhile. `Record` is poll_record or the multi_thread
/// worker's record (same fields). The monitor's thread.
template <class Record>
std::optional<poll_identity> read_poll(const Record& r, std::uint64_t seq) {
  // Acquire loads: each pairs with the release store of that field in the
  // record's begin(), so a value from a later poll shows in seq below.
  poll_identity p;
  p.id = r.task_id.load(std::memory_order_acquire);
  p.file = r.file.load(std::memory_order_acquire);
  p.line = r.line.load(std::memory_order_acquire);
  p.name.resize(std::min<std::size_t>(r.name_size.load(std::memory_order_acquire), r.name.size()));
  for (std::size_t i = 0; i < p.name.size(); ++i)
    p.name[i] = r.name[i].load(std::memory_order_acquire);
  // Relaxed: ordered after the field loads by their acquires (above).
  if (r.seq.load(std::memory_order_relaxed) != seq) return std::nullopt;  // it yielded meanwhile
  return p;
}

/// Whether a report would be logged (kyoto's logger at warn or finer).
bool stall_reports_logged() noexcept;

/// Logs the stall report of `poll`, which has run for `ran` on `thread`
/// (a `unit`: "worker", "thread"), at warn level. Any thread.
void log_stall(const poll_identity& poll, std::chrono::steady_clock::duration ran,
               std::chrono::milliseconds threshold, std::string_view thread,
               std::string_view unit) noexcept;

}  // namespace kyoto::detail
