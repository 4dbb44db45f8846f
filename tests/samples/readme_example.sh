#!/usr/bin/env bash
# usage: readme_example.sh README SAMPLE
# The README's example must be the sample that CI compiles and runs: the
# first ```cpp block of README equals SAMPLE without its first (comment) line.
set -euo pipefail
readme="$1" sample="$2"
block="$(awk '/^```cpp$/{on=1; next} /^```$/{if (on) exit} on' "$readme")"
body="$(tail -n +2 "$sample")"
if [ "$block" != "$body" ]; then
  echo "the README's example differs from $sample:" >&2
  diff <(printf '%s\n' "$block") <(printf '%s\n' "$body") >&2 || true
  exit 1
fi
echo "ok: README's example is $sample"
