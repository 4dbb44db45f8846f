#!/usr/bin/env bash
# usage: echo.sh ECHO_SERVER ECHO_CLIENT EXPECTED
# Runs the tutorial's echo server on a free port for one connection, runs
# the client against it, and checks the client's output is EXPECTED.
set -euo pipefail
server="$1" client="$2" expected="$3"
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$server" 127.0.0.1:0 --connections 1 >"$dir/server.out" &
pid=$!
for _ in $(seq 1 500); do
  grep -q '^listening on ' "$dir/server.out" && break
  kill -0 "$pid" 2>/dev/null || { echo "the server exited early" >&2; exit 1; }
  sleep 0.01
done
addr="$(sed -n 's/^listening on //p' "$dir/server.out")"
[ -n "$addr" ] || { echo "the server never printed its address" >&2; exit 1; }
"$client" "$addr" >"$dir/client.out"
wait "$pid"
if ! cmp -s "$dir/client.out" "$expected"; then
  echo "the client's output differs from $expected:" >&2
  diff "$expected" "$dir/client.out" >&2 || true
  exit 1
fi
grep -qx 'served 1 connection(s)' "$dir/server.out" || { echo "the server did not finish" >&2; exit 1; }
echo "ok: echo_client prints $expected"
