// The framed_lines anchor workload (../shared/bench/tokio/WORKLOADS.md,
// "framed_lines"): 300,000 lines through a line codec over an in-memory
// pipe with 64 KiB of buffer. kyoto_bench.cpp registers it (5 timed reps,
// ops_per_rep = framed_lines_count, on both runtimes).
#include <kyoto/codec.hpp>
#include <kyoto/io/duplex.hpp>
#include <kyoto/runtime.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace {

namespace codec = kyoto::codec;
namespace io = kyoto::io;

constexpr std::uint64_t lines = 300'000;

void check_line(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kyoto-bench: framed_lines: check failed: %s\n", what);
    std::abort();
  }
}

/// The writer: feeds "line 00000000" .. "line 00299999" (the codec appends
/// '\n' and writes its buffer to the pipe past its 8 KiB high-water mark),
/// flushes once, then drops its end.
kyoto::task<> write_lines(io::duplex_stream end) {
  codec::framed_write<io::duplex_stream, codec::lines_codec> w(std::move(end),
                                                               codec::lines_codec());
  char line[] = "line 00000000";
  for (std::uint64_t i = 0; i < lines; ++i) {
    // Zero-padded to 8 digits, as tokio's format!("line {i:08}").
    std::uint64_t v = i;
    for (int d = 12; d >= 5; --d) {
      line[d] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    co_await w.feed(std::string(line, sizeof(line) - 1));
  }
  co_await w.flush();
}

/// The reader: decodes lines (a std::string each, without its '\n'),
/// checks line n parses to n, and that 300,000 came.
kyoto::task<> read_lines(io::duplex_stream end) {
  codec::framed_read<io::duplex_stream, codec::lines_codec> r(std::move(end), codec::lines_codec());
  std::uint64_t n = 0;
  for (;;) {
    std::optional<codec::frame_result<std::string>> item = co_await r.next();
    if (!item) break;
    const std::string& line = item->value();
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(line.data() + 5, line.data() + line.size(), v);
    check_line(ec == std::errc() && ptr == line.data() + line.size() && v == n,
               "line n parses to n");
    ++n;
  }
  check_line(n == lines, "300,000 lines");
}

}  // namespace

/// Lines per rep (the workload's ops_per_rep).
extern const std::uint64_t framed_lines_count = lines;

/// One rep of framed_lines, run in the root task: spawns the writer and the
/// reader over io::duplex(64 KiB), awaits the writer, then the reader.
kyoto::task<> run_framed_lines() {
  auto [a, b] = io::duplex(std::size_t{64} * 1024);
  kyoto::join_handle<void> writer = kyoto::spawn(write_lines, std::move(a));
  kyoto::join_handle<void> reader = kyoto::spawn(read_lines, std::move(b));
  co_await writer;
  co_await reader;
}
