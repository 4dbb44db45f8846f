#!/usr/bin/env bash
# usage: expect_exit.sh CODE STDOUT_SUBSTRING STDERR_SUBSTRING PROGRAM [ARGS...]
# Runs PROGRAM and checks its exit code and that stdout/stderr contain the
# given substrings (an empty substring matches anything; STDERR_SUBSTRING
# "<none>" requires stderr to be empty).
set -uo pipefail
code="$1" want_out="$2" want_err="$3"
shift 3
out="$("$@" 2>/tmp/kyoto-expect-exit.$$)"
rc=$?
err="$(cat /tmp/kyoto-expect-exit.$$)"
rm -f /tmp/kyoto-expect-exit.$$
fail=0
[ "$rc" -eq "$code" ] || { echo "exit code $rc, expected $code" >&2; fail=1; }
[[ "$out" == *"$want_out"* ]] || { echo "stdout lacks '$want_out': $out" >&2; fail=1; }
if [ "$want_err" = "<none>" ]; then
  [ -z "$err" ] || { echo "stderr should be empty: $err" >&2; fail=1; }
else
  [[ "$err" == *"$want_err"* ]] || { echo "stderr lacks '$want_err': $err" >&2; fail=1; }
fi
exit $fail
