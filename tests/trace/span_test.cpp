// kyoto::trace: spans that follow a task across co_await and workers,
// nesting, instrument() on spawned tasks, and the span's fields in what
// kyoto::trace's events and kyoto's own logger print (captured with an
// spdlog sink). tokio's tracing has no tests in tokio's tree; these check
// what tracing-subscriber's fmt layer shows for the same program.
#include "errors.hpp"
#include "log.hpp"
#include "scoped_env.hpp"

#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/sync.hpp>
#include <kyoto/time.hpp>
#include <kyoto/trace.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace trace = kyoto::trace;

/// Makes spdlog's default logger write "<level> <message>" lines into a
/// string for the test's life, then restores the previous one.
class captured_log {
 public:
  explicit captured_log(spdlog::level::level_enum lvl = spdlog::level::trace)
      : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("trace-test", sink);
    logger->set_pattern("%l %v");
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
  }
  ~captured_log() { spdlog::set_default_logger(previous_); }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;

  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

TEST(Span, IsNoneOutsideAnyScope) {
  EXPECT_TRUE(trace::span::current().is_none());
  EXPECT_EQ(trace::span::current().context(), "");
  const trace::span s("lonely", {{"n", 1}});
  EXPECT_TRUE(s.parent().is_none());
  EXPECT_EQ(s.context(), "lonely{n=1}");
}

TEST(Span, KeepsNameAndFieldsAsText) {
  const trace::span s("request", {{"method", "GET"}, {"id", 42}, {"ok", true}, {"ratio", 0.5}});
  EXPECT_EQ(s.name(), "request");
  ASSERT_EQ(s.fields().size(), 4u);
  EXPECT_EQ(s.fields()[0].value, "GET");
  EXPECT_EQ(s.fields()[1].value, "42");
  EXPECT_EQ(s.fields()[2].value, "true");
  EXPECT_EQ(s.context(),
            std::string("request{method=GET id=42 ok=true ratio=") + std::to_string(0.5) + "}");
  EXPECT_EQ(trace::span("bare").context(), "bare");
}

TEST(Span, EmptyNameThrowsNamingTheOperation) {
  kyoto::test::expect_throws<std::invalid_argument>(
      [] { return trace::span(""); },
      "kyoto::trace::span: a span needs a name (an empty one was given)");
}

KYOTO_TEST(Span, FieldsAppearInEventsLoggedInsideIt) {
  captured_log log;
  trace::info("before");
  // Spans are named values here: GCC 12 may destroy a temporary made in a
  // co_await expression twice.
  const trace::span conn("conn", {{"id", 7}});
  co_await conn.in_scope([]() -> kyoto::task<> {
    trace::info("accepted", {{"peer", "127.0.0.1:4000"}});
    co_await kyoto::yield_now();
    trace::warn("closing");
  }());
  trace::debug("after", {{"n", 2}});
  EXPECT_EQ(log.text(),
            "info before\n"
            "info conn{id=7}: accepted peer=127.0.0.1:4000\n"
            "warning conn{id=7}: closing\n"
            "debug after n=2\n");
}

KYOTO_TEST(Span, NestedSpansPrintTheirAncestorsAndEndWithTheirScope) {
  captured_log log;
  const trace::span outer("outer", {{"a", 1}});
  co_await outer.in_scope([]() -> kyoto::task<> {
    const trace::span inner("inner", {{"b", 2}});  // a child of outer
    EXPECT_EQ(inner.parent().name(), "outer");
    co_await inner.in_scope([]() -> kyoto::task<> {
      co_await kyoto::time::sleep(1ms);
      trace::info("deep");
      EXPECT_EQ(trace::span::current().name(), "inner");
    }());
    EXPECT_EQ(trace::span::current().name(), "outer");
    trace::info("back");
    const trace::span none;
    co_await none.in_scope([]() -> kyoto::task<> {  // none: no span
      trace::info("plain");
      co_return;
    }());
  }());
  EXPECT_TRUE(trace::span::current().is_none());
  EXPECT_EQ(log.text(),
            "info outer{a=1}:inner{b=2}: deep\n"
            "info outer{a=1}: back\n"
            "info plain\n");
}

KYOTO_TEST(Span, InstrumentRunsASpawnedTaskInTheSpan) {
  captured_log log;
  const trace::span s("worker", {{"job", 3}});
  std::string seen_inside;
  std::string seen_uninstrumented = "unset";
  co_await kyoto::spawn(trace::instrument(
      [](std::string& seen) -> kyoto::task<> {
        co_await kyoto::yield_now();
        seen = trace::span::current().context();
        trace::info("working");
      }(seen_inside),
      s));
  co_await s.in_scope([](std::string& seen) -> kyoto::task<> {
    // A task spawned inside a span does not inherit it (as in tracing).
    co_await kyoto::spawn([](std::string& out) -> kyoto::task<> {
      out = trace::span::current().context();
      co_return;
    }(seen));
  }(seen_uninstrumented));
  EXPECT_EQ(seen_inside, "worker{job=3}");
  EXPECT_EQ(seen_uninstrumented, "");
  EXPECT_EQ(log.text(), "info worker{job=3}: working\n");
}

KYOTO_TEST(Span, EnterSetsTheSpanForSynchronousCode) {
  const trace::span s("sync");
  const std::string inside = s.enter([] { return trace::span::current().context(); });
  EXPECT_EQ(inside, "sync");
  EXPECT_TRUE(trace::span::current().is_none());
  co_return;
}

// Many tasks, each in its own span, suspend on wakes that come from other
// threads (spawn_blocking), so their runs move between workers: after
// every co_await each still sees its own span.
TEST(Span, SurvivesCoAwaitAcrossWorkerMigration) {
  // Four workers on CI's two cores would concentrate on worker 0
  // (scheduler/multi_thread/scheduler.hpp): none would migrate.
  const kyoto::test::scoped_env spread("KYOTO_CONCENTRATE", "off");
  auto rt = kyoto::runtime::builder::multi_thread().worker_threads(4).build();
  std::atomic<int> wrong{0};
  std::atomic<int> migrations{0};
  rt.block_on([&]() -> kyoto::task<> {
    std::vector<kyoto::join_handle<void>> tasks;
    for (int t = 0; t < 16; ++t) {
      const trace::span s("task", {{"n", t}});
      tasks.push_back(kyoto::spawn(trace::instrument(
          [](int n, std::atomic<int>& bad, std::atomic<int>& moved) -> kyoto::task<> {
            const std::string mine = std::string("task{n=") + std::to_string(n) + "}";
            std::thread::id last = std::this_thread::get_id();
            for (int i = 0; i < 200 && moved.load() < 100; ++i) {
              co_await kyoto::spawn_blocking([] {});
              if (trace::span::current().context() != mine) bad.fetch_add(1);
              if (std::this_thread::get_id() != last) moved.fetch_add(1);
              last = std::this_thread::get_id();
              co_await kyoto::yield_now();
              if (trace::span::current().context() != mine) bad.fetch_add(1);
            }
          }(t, wrong, migrations),
          s)));
    }
    for (auto& h : tasks)
      co_await h;
  }());
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(migrations.load(), 0);  // the spans did cross workers
}

KYOTO_TEST(Span, EventsBelowTheLevelAreNotLogged) {
  captured_log log(spdlog::level::warn);
  EXPECT_FALSE(trace::enabled(trace::level::info));
  EXPECT_TRUE(trace::enabled(trace::level::error));
  const trace::span quiet("quiet");
  co_await quiet.in_scope([]() -> kyoto::task<> {
    trace::info("hidden");
    trace::error("shown", {{"code", 5}});
    co_return;
  }());
  EXPECT_EQ(log.text(), "error quiet: shown code=5\n");
}

KYOTO_TEST(Span, KyotosOwnLoggerPrintsTheCurrentSpan) {
  // kyoto's logger's formatter (runtime/src/log.cpp), on a captured sink.
  std::ostringstream out;
  spdlog::logger logger("kyoto-test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger.set_formatter(kyoto::detail::make_log_formatter("[%l] %&%v"));
  logger.warn("outside");
  const trace::span handler("handler", {{"conn", 1}});
  co_await handler.in_scope([](spdlog::logger& l) -> kyoto::task<> {
    co_await kyoto::yield_now();
    l.warn("inside");
  }(logger));
  logger.flush();
  EXPECT_EQ(out.str(), "[warning] outside\n[warning] handler{conn=1}: inside\n");
}

KYOTO_TEST(Span, FormatEventGivesTheTextForOtherLoggers) {
  EXPECT_EQ(trace::format_event("m", {{"k", "v"}}), "m k=v");
  const trace::span s("s", {{"x", 1}});
  const std::string inside = co_await s.in_scope([]() -> kyoto::task<std::string> {
    co_return trace::format_event("m");
  }());
  EXPECT_EQ(inside, "s{x=1}: m");
}

}  // namespace
