// kyoto::process: a shell pipeline, `printf ... | tr a-z A-Z`, built from
// two children (docs/process.md). The first child's stdout and the second
// child's stdin are both piped to this process, which copies one into the
// other (io::copy) while it reads the second child's output: three
// operations at once in one task (join), none blocking a thread.
#include <kyoto/io.hpp>
#include <kyoto/kyoto.hpp>
#include <kyoto/process.hpp>

#include <cstdint>
#include <iostream>
#include <string>

namespace process = kyoto::process;

namespace {

/// Feeds `from` into `to`, then closes `to` so its reader sees the end.
kyoto::task<std::uint64_t> feed(process::child_stdout& from, process::child_stdin& to) {
  const std::uint64_t n = co_await kyoto::io::copy(from, to);
  co_await to.shutdown();
  co_return n;
}

/// Everything `from` gives until its end.
kyoto::task<std::string> collect(process::child_stdout& from) {
  std::string out;
  co_await kyoto::io::read_to_string(from, out);
  co_return out;
}

}  // namespace

KYOTO_MAIN() {
  process::child producer = process::command("printf")
                                .arg("hello from kyoto\\nsecond line\\n")
                                .stdout(process::stdio::piped())
                                .spawn();
  process::child upper = process::command("tr")
                             .args({"a-z", "A-Z"})
                             .stdin(process::stdio::piped())
                             .stdout(process::stdio::piped())
                             .spawn();

  // Piped streams are there (std::optional: a stream that was not piped
  // is empty).
  if (!producer.stdout || !upper.stdin || !upper.stdout) co_return kyoto::exit_code(1);
  auto [copied, text] =
      co_await kyoto::join(feed(*producer.stdout, *upper.stdin), collect(*upper.stdout));
  const process::exit_status first = co_await producer.wait();
  const process::exit_status second = co_await upper.wait();

  std::cout << text;
  std::cout << "piped " << copied << " bytes; printf " << (first.success() ? "succeeded" : "failed")
            << ", tr " << (second.success() ? "succeeded" : "failed") << '\n';
  if (!first.success() || !second.success()) co_return kyoto::exit_code(1);
}
