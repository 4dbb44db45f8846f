#!/usr/bin/env bash
# usage: tutorial_server.sh SERVER SERVER_EXPECTED CLIENT EXPECTED [CLIENT EXPECTED]...
# The tutorial's mini-redis chapters (docs/tutorial/): runs SERVER on a free
# port (it prints "Listening on ADDR" first), then each CLIENT in turn with
# ADDR as its argument, and checks
#   - each client's stdout is its EXPECTED, byte for byte, and it exits 0;
#     an EXPECTED named *.fails: the client must fail, its stdout as given;
#     an EXPECTED named *.pattern: a client whose tasks race: as many lines
#     as the file, each matching one of its extended regular expressions;
#   - the server's stdout after its first line is SERVER_EXPECTED ('-': not
#     checked).
# SERVER is a tutorial sample (its argument: the address) or samples/mini_redis's
# mini-redis-server (its argument: --port 0; it prints "mini-redis-server
# listening on ADDR").
set -euo pipefail
server="$1" server_expected="$2"
shift 2
dir="$(mktemp -d)"
pid=
# SIGKILL: under ThreadSanitizer a SIGTERM from another process is never
# handled (see graceful_shutdown.sh), and the server would outlive the test.
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
case "$(basename "$server")" in
  mini-redis-server) server_args=(--port 0) ;;
  *) server_args=(127.0.0.1:0) ;;
esac
"$server" "${server_args[@]}" >"$dir/server.out" &
pid=$!
for _ in $(seq 1 500); do
  grep -qi '^\(mini-redis-server \)\?listening on ' "$dir/server.out" && break
  kill -0 "$pid" 2>/dev/null || { echo "the server exited early" >&2; exit 1; }
  sleep 0.01
done
addr="$(sed -n 's/^\(mini-redis-server \)\?[Ll]istening on //p' "$dir/server.out")"
[ -n "$addr" ] || { echo "the server never printed its address" >&2; exit 1; }

while [ $# -gt 0 ]; do
  client="$1" expected="$2"
  shift 2
  status=0
  "$client" "$addr" >"$dir/client.out" || status=$?
  case "$expected" in
    *.fails)
      [ "$status" -ne 0 ] || { echo "$client succeeded; it should fail" >&2; exit 1; } ;;
    *)
      [ "$status" -eq 0 ] || { echo "$client failed (exit status $status)" >&2; exit 1; } ;;
  esac
  case "$expected" in
    *.pattern)
      if [ "$(wc -l <"$dir/client.out")" -ne "$(wc -l <"$expected")" ]; then
        echo "$client printed $(wc -l <"$dir/client.out") lines; $expected has $(wc -l <"$expected"):" >&2
        cat "$dir/client.out" >&2
        exit 1
      fi
      while IFS= read -r line; do
        grep -qxEf "$expected" <<<"$line" || { echo "$client printed '$line', not in $expected" >&2; exit 1; }
      done <"$dir/client.out" ;;
    *)
      if ! cmp -s "$dir/client.out" "$expected"; then
        echo "the output of $client differs from $expected:" >&2
        diff "$expected" "$dir/client.out" >&2 || true
        exit 1
      fi ;;
  esac
  echo "ok: $client prints $expected"
done

if [ "$server_expected" != - ]; then
  tail -n +2 "$dir/server.out" >"$dir/server.rest"
  if ! cmp -s "$dir/server.rest" "$server_expected"; then
    echo "the output of $server differs from $server_expected:" >&2
    diff "$server_expected" "$dir/server.rest" >&2 || true
    exit 1
  fi
  echo "ok: $server prints $server_expected"
fi
