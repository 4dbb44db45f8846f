#!/usr/bin/env bash
# usage: expect_output.sh PROGRAM EXPECTED [REFERENCE]
# Runs PROGRAM and checks its stdout is byte-for-byte EXPECTED. If the
# REFERENCE file exists (the seed's own expected output in ../shared), also
# checks EXPECTED still equals it, so the in-tree copy cannot drift.
set -euo pipefail
program="$1" expected="$2" reference="${3:-}"
actual="$(mktemp)"
trap 'rm -f "$actual"' EXIT
"$program" >"$actual"
if ! cmp -s "$actual" "$expected"; then
  echo "output of $program differs from $expected:" >&2
  diff "$expected" "$actual" >&2 || true
  exit 1
fi
if [ -n "$reference" ] && [ -f "$reference" ] && ! cmp -s "$expected" "$reference"; then
  echo "$expected differs from the reference $reference" >&2
  exit 1
fi
echo "ok: $program prints $expected"
