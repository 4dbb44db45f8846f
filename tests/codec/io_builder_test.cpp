// kyoto::test::io_builder: the scripted mock behaves as tokio_test's
// io::Builder (reads, writes, errors, waits, ordering) and reports a
// mismatch or an unfinished script with a message saying what was expected
// and what came.
#include <kyoto/io/read_ext.hpp>
#include <kyoto/io/split.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/macros/test.hpp>
#include <kyoto/runtime.hpp>
#include <kyoto/test/io_builder.hpp>
#include <kyoto/time.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;

namespace {

namespace io = kyoto::io;
using kyoto::test::io_builder;
using kyoto::test::io_mock;
using kyoto::test::io_mock_error;

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

KYOTO_TEST(IoBuilder, ReadsGiveTheScriptThenEndOfStream) {
  auto mock = io_builder().read("hello ").read("world").build();
  std::array<std::byte, 4> small{};
  const std::size_t n1 = co_await mock.read(small);
  EXPECT_EQ(as_string(std::span(small).first(n1)), "hell");  // a read spans buffers
  std::vector<std::byte> rest;
  co_await io::read_to_end(mock, rest);
  EXPECT_EQ(as_string(rest), "o world");
  EXPECT_TRUE(mock.is_done());
}

KYOTO_TEST(IoBuilder, WritesAreCheckedInOrder) {
  auto mock = io_builder().write("ping").read("pong").build();
  co_await io::write_all(mock, "ping");
  std::array<std::byte, 4> buf{};
  co_await io::read_exact(mock, buf);
  EXPECT_EQ(as_string(buf), "pong");
}

KYOTO_TEST(IoBuilder, AMismatchedWriteSaysWhatWasExpected) {
  auto mock = io_builder().write("hello").build();
  std::string what;
  try {
    co_await io::write_all(mock, "help!");
  } catch (const io_mock_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("expected b\"hello\""), std::string::npos) << what;
  EXPECT_NE(what.find("got b\"help!\""), std::string::npos) << what;
  EXPECT_NE(what.find("byte 3"), std::string::npos) << what;
  co_await io::write_all(mock, "hello");  // the script is still there
}

KYOTO_TEST(IoBuilder, AnUnexpectedWriteThrows) {
  auto mock = io_builder().read("x").build();
  std::string what;
  try {
    co_await io::write_all(mock, "oops");
  } catch (const io_mock_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("unexpected write of b\"oops\""), std::string::npos) << what;
  std::array<std::byte, 1> buf{};
  co_await mock.read(buf);
}

KYOTO_TEST(IoBuilder, ScriptedErrorsAreThrown) {
  auto mock = io_builder()
                  .read_error(std::errc::connection_reset)
                  .write_error(std::errc::broken_pipe)
                  .build();
  std::array<std::byte, 1> buf{};
  bool read_failed = false;
  try {
    co_await mock.read(buf);
  } catch (const std::system_error& e) {
    read_failed = e.code() == std::errc::connection_reset;
  }
  bool write_failed = false;
  try {
    co_await mock.write(buf);
  } catch (const std::system_error& e) {
    write_failed = e.code() == std::errc::broken_pipe;
  }
  EXPECT_TRUE(read_failed);
  EXPECT_TRUE(write_failed);
}

KYOTO_TEST(IoBuilder, WaitPausesTheNextRead) {
  auto mock = io_builder().read("a").wait(20ms).read("b").build();
  std::array<std::byte, 1> buf{};
  co_await mock.read(buf);
  const auto start = std::chrono::steady_clock::now();
  co_await mock.read(buf);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_EQ(as_string(buf), "b");
}

KYOTO_TEST(IoBuilder, AReadWaitsForTheWritesBeforeIt) {
  auto mock = io_builder().write("req").read("resp").build();
  auto [rd, wr] = io::split(std::move(mock));
  auto reader = kyoto::spawn(
      [](io::read_half<io_mock> r) -> kyoto::task<std::string> {
        std::array<std::byte, 4> buf{};
        co_await io::read_exact(r, buf);
        co_return as_string(buf);
      },
      std::move(rd));
  co_await kyoto::time::sleep(5ms);
  EXPECT_FALSE(reader.is_finished()) << "the read waits for the scripted write";
  co_await io::write_all(wr, "req");
  const std::string got = co_await reader;
  EXPECT_EQ(got, "resp");
}

TEST(IoBuilder, DestroyingItWithScriptLeftThrows) {
  std::string what;
  try {
    io_mock mock = io_builder().read("unread").write("unwritten").build();
  } catch (const io_mock_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("read b\"unread\""), std::string::npos) << what;
  EXPECT_NE(what.find("write b\"unwritten\""), std::string::npos) << what;
}

TEST(IoBuilder, DestroyingItDuringAnotherExceptionDoesNotThrowAgain) {
  EXPECT_THROW(
      {
        io_mock mock = io_builder().read("unread").build();
        throw std::runtime_error("the test failed first");
      },
      std::runtime_error);
}

TEST(IoBuilder, ErrorsAndWaitsLeftAreFine) {
  io_mock mock = io_builder().read_error(std::errc::io_error).wait(1s).build();
  EXPECT_TRUE(mock.is_done());
}

}  // namespace
