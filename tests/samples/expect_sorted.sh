#!/usr/bin/env bash
# usage: expect_sorted.sh PROGRAM EXPECTED
# For a program whose tasks print in an order that timing decides: checks
# its stdout holds exactly EXPECTED's lines, in any order.
set -euo pipefail
program="$1" expected="$2"
actual="$(mktemp)"
trap 'rm -f "$actual"' EXIT
"$program" >"$actual"
if ! cmp -s <(LC_ALL=C sort "$actual") <(LC_ALL=C sort "$expected"); then
  echo "the lines of $program differ from $expected:" >&2
  diff <(LC_ALL=C sort "$expected") <(LC_ALL=C sort "$actual") >&2 || true
  exit 1
fi
echo "ok: $program prints the lines of $expected"
