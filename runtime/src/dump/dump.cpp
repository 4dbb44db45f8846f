// Taking and rendering task dumps; how a dump is consistent is described in
// <kyoto/runtime/dump.hpp>.
//
// Two phases: under each live-task list's lock, only copy what the tasks
// hold (their identity, their state, and for a claimed task the await
// points of its frames: source locations, static texts, numbers), so the
// workers wait for no allocation but the vector's growth; then, with no
// lock held, turn that into strings.
//
// Time in state (task_dump::state_ms) comes from three places: an idle
// task's innermost frame (32-bit state tick, detail/await_point.hpp); a
// scheduled or running task's state word (the low 16 bits of the tick of
// its move to that state, read by the same load that finds the state:
// task_header.hpp); block_in_place's list for a task inside it (a 32-bit
// tick of its entry).
#include "dump/block_in_place_since.hpp"

#include <kyoto/runtime/dump.hpp>
#include <kyoto/runtime/task.hpp>
#include <kyoto/time/clock.hpp>

#include <kyoto/runtime/detail/await_point.hpp>
#include <kyoto/runtime/detail/scheduler.hpp>
#include <kyoto/runtime/detail/task_header.hpp>

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace kyoto {

namespace {

/// Await chains longer than this are cut (a recursion of tasks).
constexpr std::size_t max_chain = 256;

struct raw_frame {
  std::source_location where;
  detail::await_info info;
};

struct raw_task {
  std::uint64_t id = 0;
  std::string name;
  std::source_location spawned_at;
  task_state state = task_state::idle;
  std::size_t first_frame = 0;  ///< into collector::frames
  std::size_t frames = 0;
  /// What `tick` is: none; a whole state tick (an idle task's innermost
  /// frame's, or a block_in_place entry's); its low 16 bits (a state
  /// word's, for a scheduled or running task).
  enum class tick_kind : unsigned char { none, full, low16 } kind = tick_kind::none;
  std::uint32_t tick = 0;
};

/// Phase one: filled by the visitor under the lists' locks.
struct collector {
  std::vector<raw_task> tasks;
  std::vector<raw_frame> frames;

  void read_chain(const detail::task_header& t, raw_task& out) {
    out.first_frame = frames.size();
    const detail::task_promise_base* p = t.started() ? t.root_promise() : nullptr;
    for (std::size_t depth = 0; p != nullptr && depth < max_chain; ++depth) {
      const std::uintptr_t word = p->parked_word();
      const detail::await_site* at = detail::await_word::site(word);
      if (at == nullptr) break;  // a child that has not started (cannot be: defensive)
      raw_frame f{at->where, {}};
      at->inspect(*p, detail::await_word::awaiter(word), f.info);
      // The innermost frame suspended last: when the task went idle.
      out.kind = detail::await_word::tick(p, word, out.tick) ? raw_task::tick_kind::full
                                                             : raw_task::tick_kind::none;
      frames.push_back(f);
      p = f.info.child;
    }
    out.frames = frames.size() - out.first_frame;
  }

  static raw_task identity(const detail::task_header& t) {
    raw_task r;
    r.id = t.id();
    r.name = std::string(t.name());
    r.spawned_at = t.spawn_location();
    return r;
  }

  /// A task of the blocking pool (blocking_pool::visit_live_tasks, under
  /// its lock): on its list of running tasks (owned_linked) = blocking, else
  /// queued for a thread. Never claimed: a blocking task never suspends.
  /// Since its run began (its thread took it from the queue just before),
  /// or since it was queued.
  static void visit_blocking(void* ctx, detail::task_header& t, bool /*claimable*/) noexcept {
    auto& self = *static_cast<collector*>(ctx);
    try {
      raw_task r = identity(t);
      r.state = t.owned_linked ? task_state::blocking : task_state::scheduled;
      r.kind = raw_task::tick_kind::low16;
      r.tick = t.state_since();
      self.tasks.push_back(std::move(r));
    } catch (...) {  // NOLINT(bugprone-empty-catch)
      // Out of memory while listing: the task is left out of the dump.
    }
  }

  static void visit(void* ctx, detail::task_header& t, bool claimable) noexcept {
    auto& self = *static_cast<collector*>(ctx);
    try {
      raw_task r = identity(t);
      using claim = detail::task_header::dump_claim;
      std::uint16_t since = 0;
      const claim c = claimable ? t.claim_for_dump(since) : claim::running;
      switch (c) {
        case claim::complete:
          return;  // ending now: no longer live
        case claim::scheduled:
          r.state = task_state::scheduled;
          r.kind = raw_task::tick_kind::low16;
          r.tick = since;
          break;
        case claim::running:
          if (!claimable) {
            r.state = task_state::scheduled;  // shutting down: state only
          } else if (detail::block_in_place_since(&t, r.tick)) {
            r.state = task_state::blocking;
            r.kind = raw_task::tick_kind::full;
          } else {
            r.state = task_state::running;
            r.kind = raw_task::tick_kind::low16;
            r.tick = since;
          }
          break;
        case claim::claimed:
          r.state = task_state::idle;
          try {
            self.read_chain(t, r);
          } catch (...) {
            t.end_dump_claim();
            throw;
          }
          t.end_dump_claim();
          break;
      }
      self.tasks.push_back(std::move(r));
    } catch (...) {  // NOLINT(bugprone-empty-catch)
      // Out of memory while listing: the task is left out of the dump.
    }
  }
};

std::string demangle(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> s(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
  return status == 0 && s ? std::string(s.get()) : std::string(type.name());
}

std::string format_detail(const detail::wait_description& w) {
  char buf[64];
  switch (w.detail) {
    case detail::wait_detail::none:
      return {};
    case detail::wait_detail::fd:
      std::snprintf(buf, sizeof buf, "fd %lld", static_cast<long long>(w.value));
      break;
    case detail::wait_detail::task:
      std::snprintf(buf, sizeof buf, "task %lld", static_cast<long long>(w.value));
      break;
    case detail::wait_detail::count:
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(w.value));
      break;
    case detail::wait_detail::deadline: {
      std::snprintf(buf, sizeof buf, "due in %+.3f s", static_cast<double>(w.value) / 1e9);
      break;
    }
  }
  return buf;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

/// GCC names a coroutine's body by its "actor" function,
/// `void ns::f(ns::f(args)::_Z...Frame*)`: shown as `ns::f(args)`, as the
/// ramp function (and Clang) names it.
std::string function_of(const std::source_location& l) {
  const std::string_view f = l.function_name();
  constexpr std::string_view frame = ".Frame*)";
  const std::size_t mangled = f.rfind("::_Z");
  const std::size_t open = f.find('(');
  if (f.size() < frame.size() || f.substr(f.size() - frame.size()) != frame ||
      mangled == std::string_view::npos || open == std::string_view::npos || mangled < open) {
    return std::string(f);
  }
  const std::size_t name_start =
      f.rfind(' ', open) == std::string_view::npos ? 0 : f.rfind(' ', open) + 1;
  const std::string_view qualified = f.substr(name_start, open - name_start);
  const std::string_view inner = f.substr(open + 1, mangled - open - 1);  // "f(args)"
  const std::size_t inner_open = inner.find('(');
  if (inner_open == std::string_view::npos) return std::string(f);
  return std::string(qualified) + std::string(inner.substr(inner_open));
}

void append_location_json(std::string& out, const std::source_location& l) {
  out += "\"file\":";
  append_json_string(out, l.file_name());
  out += ",\"line\":";
  out += std::to_string(l.line());
  out += ",\"function\":";
  append_json_string(out, function_of(l));
}

void append_location_text(std::string& out, const std::source_location& l) {
  if (l.line() == 0) {
    out += "<unknown>";
    return;
  }
  out += l.file_name();
  out += ':';
  out += std::to_string(l.line());
}

}  // namespace

const char* to_string(task_state s) noexcept {
  switch (s) {
    case task_state::idle:
      return "idle";
    case task_state::scheduled:
      return "scheduled";
    case task_state::running:
      return "running";
    case task_state::blocking:
      return "blocking";
  }
  return "?";
}

const task_dump* runtime_dump::find(task_id id) const noexcept {
  for (const task_dump& t : tasks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::string runtime_dump::to_text() const {
  std::string out = "kyoto task dump: " + std::to_string(tasks.size()) + " tasks";
  if (unlisted != 0) out += " (and " + std::to_string(unlisted) + " not yet suspended, unlisted)";
  out += '\n';
  for (const task_dump& t : tasks) {
    out += "\ntask ";
    out += std::to_string(t.id.value());
    if (!t.name.empty()) {
      out += " \"";
      out += t.name;
      out += '"';
    }
    out += ' ';
    out += kyoto::to_string(t.state);
    if (t.state_ms >= 0) {
      out += " for ";
      out += std::to_string(t.state_ms);
      out += " ms";
    }
    out += ", spawned at ";
    append_location_text(out, t.spawned_at);
    out += '\n';
    for (const await_frame& f : t.await_chain) {
      out += "    at ";
      append_location_text(out, f.location);
      out += " in ";
      out += function_of(f.location);
      out += "\n        waiting on ";
      out += f.waits_on;
      if (!f.detail.empty()) {
        out += ' ';
        out += f.detail;
      }
      out += '\n';
    }
  }
  return out;
}

std::string runtime_dump::to_json() const {
  std::string out = "{\"tasks\":[";
  bool first = true;
  for (const task_dump& t : tasks) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":";
    out += std::to_string(t.id.value());
    out += ",\"name\":";
    append_json_string(out, t.name);
    out += ",\"state\":\"";
    out += kyoto::to_string(t.state);
    out += '"';
    if (t.state_ms >= 0) {
      out += ",\"state_ms\":";
      out += std::to_string(t.state_ms);
    }
    out += ",\"spawned_at\":{";
    append_location_json(out, t.spawned_at);
    out += "},\"await_chain\":[";
    bool first_frame = true;
    for (const await_frame& f : t.await_chain) {
      if (!first_frame) out += ',';
      first_frame = false;
      out += '{';
      append_location_json(out, f.location);
      out += ",\"waits_on\":";
      append_json_string(out, f.waits_on);
      out += ",\"detail\":";
      append_json_string(out, f.detail);
      out += '}';
    }
    out += "]}";
  }
  out += "],\"unlisted\":";
  out += std::to_string(unlisted);
  out += '}';
  return out;
}

std::ostream& operator<<(std::ostream& os, const runtime_dump& d) {
  return os << d.to_text();
}

namespace detail {

namespace {
/// One dump at a time in the process: a task claimed by one dump (RUNNING
/// for the claim's length) would read as running to another, with the
/// since bits of its last real run. Dumps are rare; the lists' locks,
/// which the workers take, are not held any longer for it.
std::mutex& dump_lock() {
  static auto* m = new std::mutex();  // never destroyed: a dump may run at exit
  return *m;
}
}  // namespace

runtime_dump dump_scheduler(scheduler& s) {
  collector c;
  c.tasks.reserve(1024);
  c.frames.reserve(4096);
  std::size_t alive = 0;
  std::size_t listed = 0;
  {
    const std::lock_guard<std::mutex> one_at_a_time(dump_lock());
    s.visit_live_tasks(&collector::visit, &c);
    alive = s.metrics().alive_tasks;
    listed = c.tasks.size();
    // The blocking pool's tasks (spawn_blocking), which alive_tasks does
    // not count: the running ones as blocking, the queued ones as scheduled.
    if (scheduler& pool = s.blocking_pool(); &pool != &s)
      pool.visit_live_tasks(&collector::visit_blocking, &c);
  }
  // Now on the ticks' clock: this thread's runtime clock (a runtime
  // thread's paused time), else the steady clock. After the walk, so that
  // no stamp read in it is later (a 16-bit one would wrap to 65 s).
  const std::uint32_t now_tick = state_tick_at(kyoto::time::clock::now());

  runtime_dump d;
  d.unlisted = alive > listed ? alive - listed : 0;
  d.tasks.reserve(c.tasks.size());
  for (raw_task& r : c.tasks) {
    task_dump t;
    t.id = task_id(r.id);
    t.name = std::move(r.name);
    t.spawned_at = r.spawned_at;
    t.state = r.state;
    if (r.kind == raw_task::tick_kind::full) {
      // Modulo 2^32; negative (a tick ahead of this thread's clock: another
      // runtime's paused time) reads as 0.
      const auto ms = static_cast<std::int32_t>(now_tick - r.tick);
      t.state_ms = ms > 0 ? ms : 0;
    } else if (r.kind == raw_task::tick_kind::low16) {
      // Modulo 2^16: a task in its state for longer than 65.535 s reads
      // short by a multiple of 65.536 s (dump.hpp, state_ms).
      t.state_ms = static_cast<std::uint16_t>(now_tick - r.tick);
    }
    t.await_chain.reserve(r.frames);
    for (std::size_t i = 0; i < r.frames; ++i) {
      const raw_frame& f = c.frames[r.first_frame + i];
      await_frame a;
      a.location = f.where;
      a.object = f.info.wait.object;
      if (f.info.wait.what != nullptr) {
        a.waits_on = f.info.wait.what;
        a.detail = format_detail(f.info.wait);
      } else if (f.info.child != nullptr) {
        a.waits_on = "task";
      } else if (f.info.type != nullptr) {
        a.waits_on = demangle(*f.info.type);
      }
      t.await_chain.push_back(std::move(a));
    }
    d.tasks.push_back(std::move(t));
  }
  return d;
}

}  // namespace detail

}  // namespace kyoto
