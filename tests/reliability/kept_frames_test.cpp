// Issue 13, item 2: a runtime never frees memory the kernel may still write.
//
// When a shutdown's drain abandons requests in flight — a current_thread
// runtime dropped on another thread than the one that drove it (which
// alone may cancel them), or a request the kernel did not cancel within
// driver::drain_bound — the kernel may still write into their buffers (an
// io-wq worker finishing a file read, a read racing the ring's teardown,
// which runs in a kernel worker after close() returns). Before the fix the
// shutdown then cancelled those tasks and freed their frames, buffers
// included; now it keeps them (leaks them, loudly).
//
// Each case parks a socket read and a FIFO read (through kyoto::fs::file)
// with their buffers in their tasks' frames, drops the runtime, then reads
// both buffers and checks that neither frame was destroyed: before the fix
// both were ("2 frames with requests in flight were destroyed"), and
// under ASan the reads of the buffers are a heap-use-after-free. Then it
// writes to the FIFO, which the kernel may now deliver into a kept buffer.
#include "net_support.hpp"
#include "temp_dir.hpp"

#include <kyoto/fs.hpp>
#include <kyoto/net.hpp>
#include <kyoto/runtime.hpp>

#include <kyoto/io/detail/io_op.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

namespace {

/// What the parked tasks tell the test.
struct probe {
  std::atomic<int> started{0};
  std::atomic<int> frames_destroyed{0};
  std::byte* socket_buf = nullptr;  // written before `started` is bumped
  std::byte* fifo_buf = nullptr;
};

/// Bumps frames_destroyed when its frame is destroyed.
struct frame_guard {
  std::shared_ptr<probe> p;
  ~frame_guard() { p->frames_destroyed.fetch_add(1); }
};

kyoto::task<void> read_socket(std::shared_ptr<probe> p, kyoto::net::tcp_stream s) {
  const frame_guard guard{p};
  std::array<std::byte, 64> buf{};
  p->socket_buf = buf.data();
  p->started.fetch_add(1);
  (void)co_await s.read(buf);
}

kyoto::task<void> read_fifo(std::shared_ptr<probe> p, std::filesystem::path fifo) {
  const frame_guard guard{p};
  kyoto::fs::file f = co_await kyoto::fs::file::open(fifo);
  std::array<std::byte, 64> buf{};
  p->fifo_buf = buf.data();
  p->started.fetch_add(1);
  (void)co_await f.read(buf);
}

/// Parks both reads and returns once they are submitted.
kyoto::task<void> park_reads(std::shared_ptr<probe> p, std::filesystem::path fifo,
                             std::shared_ptr<std::optional<kyoto::net::tcp_stream>> peer) {
  auto [client, server] = co_await kyoto::test::connected_pair();
  peer->emplace(std::move(client));
  kyoto::spawn(read_socket(p, std::move(server)));
  kyoto::spawn(read_fifo(p, std::move(fifo)));
  while (p->started.load() < 2)
    co_await kyoto::yield_now();
  // The requests are submitted at the next poll: let one happen.
  co_await kyoto::yield_now();
  co_await kyoto::yield_now();
}

/// Runs in the death test's child: parks the reads on `rt`, drops it with
/// `drop`, and exits 0 if both frames are kept.
template <class Drop>
[[noreturn]] void park_drop_and_check(kyoto::runtime built, Drop drop) {
  ::alarm(20);  // a hang fails the test (SIGALRM)
  const kyoto::test::temp_dir dir;
  const std::filesystem::path fifo = dir / "fifo";
  if (::mkfifo(fifo.c_str(), 0600) != 0) std::exit(10);
  // A writer, so that the reader's open does not block; it never writes
  // before the drop, so the read stays in flight.
  const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  if (writer < 0) std::exit(11);
  auto p = std::make_shared<probe>();
  auto peer = std::make_shared<std::optional<kyoto::net::tcp_stream>>();
  std::optional<kyoto::runtime> rt(std::move(built));
  rt->block_on(park_reads(p, fifo, peer));
  drop(rt);
  // Memory the frames kept (freed before the fix).
  // Volatile: loads the optimiser may not drop (ASan checks each one).
  const volatile std::byte* socket_buf = p->socket_buf;
  const volatile std::byte* fifo_buf = p->fifo_buf;
  const std::byte seen_socket = socket_buf[0];
  const std::byte seen_fifo = fifo_buf[0];
  if (p->frames_destroyed.load() != 0) {
    std::fprintf(stderr, "%d frames with requests in flight were destroyed\n",
                 p->frames_destroyed.load());
    std::exit(1);
  }
  // The kernel may deliver these into the kept buffers (or not: the ring's
  // teardown cancels polled reads); either way no freed memory is written.
  const char byte = 'x';
  if (::write(writer, &byte, 1) != 1) std::exit(12);
  // Nothing was written to the socket and no read of the FIFO completed
  // before the drop: both buffers still hold their zeros.
  std::exit(seen_socket == std::byte{0} && seen_fifo == std::byte{0} ? 0 : 13);
}

TEST(KeptFramesDeathTest, ACurrentThreadRuntimeDroppedOnAnotherThreadKeepsItsReadsFrames) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(park_drop_and_check(kyoto::runtime::builder::current_thread().build(),
                                  [](std::optional<kyoto::runtime>& rt) {
                                    std::thread([&rt] { rt.reset(); }).join();
                                  }),
              ::testing::ExitedWithCode(0),
              "2 io_uring requests were in flight when the runtime was shut down on another "
              "thread(.|\n)*2 tasks waiting for abandoned io_uring requests are kept, never freed");
}

TEST(KeptFramesDeathTest, AMultiThreadRuntimeWhoseDrainGivesUpKeepsItsReadsFrames) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // As if the kernel could cancel none of them: the drain's bound.
        kyoto::detail::set_drain_skips_cancels(true);
        park_drop_and_check(kyoto::runtime::builder::multi_thread().worker_threads(2).build(),
                            [](std::optional<kyoto::runtime>& rt) { rt.reset(); });
      },
      ::testing::ExitedWithCode(0),
      // The reads may be on one worker's ring or one on each.
      "tasks? waiting for abandoned io_uring requests are kept, never freed");
}

}  // namespace
