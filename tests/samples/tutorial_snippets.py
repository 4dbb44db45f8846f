#!/usr/bin/env python3
"""usage: tutorial_snippets.py ROOT PAGE...

Every ```cpp block of the tutorial's pages (docs/tutorial/) is taken from a
compiled sample. The line before the block names it:

  <!-- sample: samples/tutorial/hello_kyoto.cpp -->
      the block's lines appear, in order and contiguous, in that file;
  <!-- sample after merge: samples/async_in_depth.cpp -->
      the same, once the file exists (a sample another branch adds);
  <!-- not a sample: why -->
      a fragment that is not compiled (a mistake shown on purpose, a
      signature); the reason is required.

A cpp block without such a line fails the check, as does a block that is no
longer in its sample: the page cannot drift from the code CI runs.
"""
import pathlib
import re
import sys

MARK = re.compile(r"^<!-- (sample|sample after merge): (\S+) -->$|^<!-- not a sample: .+ -->$")


def contains(lines, block):
    n = len(block)
    return any(lines[i:i + n] == block for i in range(len(lines) - n + 1))


def main():
    root = pathlib.Path(sys.argv[1])
    failures = 0
    checked = 0
    for page in sys.argv[2:]:
        text = pathlib.Path(page).read_text().split("\n")
        i = 0
        while i < len(text):
            if text[i].strip() != "```cpp":
                i += 1
                continue
            start = i
            end = text.index("```", i + 1)
            block = text[i + 1:end]
            mark = text[start - 1] if start > 0 else ""
            m = MARK.match(mark)
            where = f"{page}:{start + 1}"
            if not m:
                print(f"{where}: a cpp block without a sample line before it")
                failures += 1
            elif m.group(1):
                sample = root / m.group(2)
                if not sample.exists():
                    if m.group(1) == "sample":
                        print(f"{where}: no file {m.group(2)}")
                        failures += 1
                    else:
                        print(f"{where}: skipped, {m.group(2)} not merged yet")
                elif not contains(sample.read_text().split("\n"), block):
                    print(f"{where}: the block is not in {m.group(2)}")
                    failures += 1
                else:
                    checked += 1
            i = end + 1
    print(f"{checked} blocks found in their samples, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
