#!/usr/bin/env bash
# usage: graceful_shutdown.sh GRACEFUL_SHUTDOWN [tsan|plain]
# tokio's "Graceful Shutdown" page, checked from outside: start the server on
# a free port, connect, send a request, and while the server works on it send
# SIGTERM. The request must still be answered, the server must stop
# accepting, and it must exit 0 once the connection finished.
set -euo pipefail
server="$1" build="${2:-plain}"
if [ "$build" = tsan ]; then
  # ThreadSanitizer runs a signal's handler only when the receiving thread
  # next enters an intercepted function; a kyoto thread parked in
  # io_uring_enter never does, so a SIGTERM from outside is never handled.
  echo "skipped: ThreadSanitizer defers signals sent from another process (see tests/signal/send_signal.hpp)"
  exit 77
fi
dir="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; exec 3>&- 3<&- 2>/dev/null; rm -rf "$dir"' EXIT

wait_for_line() {  # wait_for_line PATTERN: until the server printed it
  for _ in $(seq 1 1000); do
    grep -qs "$1" "$dir/server.out" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the server exited early:" >&2; cat "$dir/server.out" >&2; exit 1; }
    sleep 0.01
  done
  echo "the server never printed '$1':" >&2
  cat "$dir/server.out" >&2
  exit 1
}

"$server" 127.0.0.1:0 --work 300 --deadline 5000 >"$dir/server.out" &
pid=$!
wait_for_line '^listening on '
addr="$(sed -n 's/^listening on //p' "$dir/server.out")"
host="${addr%:*}" port="${addr##*:}"

exec 3<>"/dev/tcp/$host/$port"
printf 'hello\n' >&3
wait_for_line '^working on a request$'
kill -TERM "$pid"
wait_for_line '^stopped accepting$'

# The request in progress is finished after the signal.
IFS= read -r -t 10 reply <&3 || { echo "no reply after SIGTERM" >&2; exit 1; }
[ "$reply" = "HELLO" ] || { echo "unexpected reply '$reply'" >&2; exit 1; }

set +e
wait "$pid"
status=$?
set -e
pid=""
[ "$status" -eq 0 ] || { echo "the server exited with $status:" >&2; cat "$dir/server.out" >&2; exit 1; }
grep -qx 'SIGTERM: shutting down' "$dir/server.out" || { echo "no shutdown message" >&2; exit 1; }
grep -qx 'all 1 connection(s) finished' "$dir/server.out" || {
  echo "the connection did not finish:" >&2; cat "$dir/server.out" >&2; exit 1; }
# The connection was closed by the server, not left open.
if IFS= read -r -t 5 extra <&3; then echo "unexpected data '$extra'" >&2; exit 1; fi
echo "ok: graceful_shutdown finished its connection and exited 0 on SIGTERM"
