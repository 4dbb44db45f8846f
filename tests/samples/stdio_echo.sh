#!/usr/bin/env bash
# usage: stdio_echo.sh STDIO_ECHO EXPECTED
# Pipes three lines (one with "\r\n", one without a final newline) into the
# stdio_echo sample and checks its stdout is EXPECTED and its stderr counts
# the lines; then feeds it nothing (end of input at once).
set -euo pipefail
program="$1" expected="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf 'hello, kyoto\r\nstdin on io_uring\nno newline at the end' |
  "$program" >"$dir/out" 2>"$dir/err"
if ! cmp -s "$dir/out" "$expected"; then
  echo "the output of $program differs from $expected:" >&2
  diff "$expected" "$dir/out" >&2 || true
  exit 1
fi
grep -qx '3 lines' "$dir/err" || { echo "stderr: $(cat "$dir/err")" >&2; exit 1; }
"$program" </dev/null >"$dir/empty" 2>"$dir/err"
[ ! -s "$dir/empty" ] || { echo "output for no input: $(cat "$dir/empty")" >&2; exit 1; }
grep -qx '0 lines' "$dir/err" || { echo "stderr for no input: $(cat "$dir/err")" >&2; exit 1; }
echo "ok: stdio_echo upper-cases piped lines"
