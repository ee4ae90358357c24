#!/usr/bin/env bash
# server-load.sh -- the daemon under REST load while 100 WebSocket clients watch.
#
#   bench/server-load.sh                 start a daemon of our own (Phnom Penh,
#                                        speed 1, a temporary SQLite store)
#   bench/server-load.sh PORT TOKEN      load a daemon already on 127.0.0.1:PORT
#
# Environment: GREENWAVE (default build/greenwave), SECONDS_LOAD (default 20),
# WS_CLIENTS (default 100), WRK_CONNECTIONS (default 64), PORT_SELF (default
# 18080, the port of a daemon started here).
#
# While bench/ws-clients.c (built here with cc) holds WS_CLIENTS connections
# to /api/ws, wrk runs SECONDS_LOAD s with 2 threads and WRK_CONNECTIONS
# connections on GET /api/state with the token as a bearer.  Printed: wrk's
# requests/s and p99 latency, the frames each WebSocket client got (min,
# max, clients that missed frames), and the daemon's own loop figures from
# GET /api/status (missed deadlines, longest step, frames dropped).  Every
# step is bounded by `timeout`; a daemon started here is stopped on exit.
# Timing lives here, never in a test.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GREENWAVE=${GREENWAVE:-$ROOT/build/greenwave}
SECS=${SECONDS_LOAD:-20}
NWS=${WS_CLIENTS:-100}
NCONN=${WRK_CONNECTIONS:-64}

for tool in cc curl wrk; do
    command -v "$tool" >/dev/null || { echo "server-load: $tool is needed (Debian package $tool)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/gw-server-load.XXXXXX)
DAEMON=
cleanup() {
    if [ -n "$DAEMON" ]; then
        kill "$DAEMON" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DAEMON" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ $# -ge 2 ]; then
    PORT=$1
    TOKEN=$2
else
    [ -x "$GREENWAVE" ] || { echo "server-load: $GREENWAVE not built (make build)" >&2; exit 2; }
    PORT=${PORT_SELF:-18080}
    DB="sqlite:$TMP/centre.db"
    PASSWORD="bench-$(date +%s)-$$"
    if ! echo "$PASSWORD" | timeout 60 "$GREENWAVE" user add bench --role admin --db "$DB" \
        --password-stdin >"$TMP/user.log" 2>&1; then
        echo "server-load: could not add the user:" >&2
        cat "$TMP/user.log" >&2
        exit 1
    fi
    timeout $((SECS + 120)) "$GREENWAVE" serve --listen "127.0.0.1:$PORT" --db "$DB" \
        --city phnom-penh --speed 1 --quiet >"$TMP/serve.log" 2>&1 &
    DAEMON=$!
    up=0
    for _ in $(seq 300); do    # up to 60 s to load the city
        if curl -s -o /dev/null "http://127.0.0.1:$PORT/api/status"; then up=1; break; fi
        kill -0 "$DAEMON" 2>/dev/null || break
        sleep 0.2
    done
    if [ $up = 0 ]; then
        echo "server-load: the daemon did not start; its log:" >&2
        tail -20 "$TMP/serve.log" >&2
        exit 1
    fi
    TOKEN=$(curl -s --max-time 10 -H 'Content-Type: application/json' \
        -d "{\"name\":\"bench\",\"password\":\"$PASSWORD\"}" \
        "http://127.0.0.1:$PORT/api/login" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
    [ -n "$TOKEN" ] || { echo "server-load: login failed" >&2; exit 1; }
fi
URL="http://127.0.0.1:$PORT"

cc -O2 -Wall -o "$TMP/ws-clients" "$ROOT/bench/ws-clients.c"

status() {
    curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL/api/status"
}
field() { # field JSON NAME: a number from the status document, 1 decimal
    local v
    v=$(sed -n "s/.*\"$2\" *: *\([-0-9.eE+]*\).*/\1/p" <<<"$1" | head -1)
    if [ -n "$v" ]; then printf '%.1f' "$v"; else echo "?"; fi
}
before=$(status)

timeout $((SECS + 30)) "$TMP/ws-clients" "127.0.0.1:$PORT" "$TOKEN" "$NWS" "$SECS" \
    >"$TMP/ws.out" 2>&1 &
WS=$!
sleep 1   # let the clients connect before the load starts
timeout $((SECS + 30)) wrk -t2 -c"$NCONN" -d"${SECS}s" --latency \
    -H "Authorization: Bearer $TOKEN" "$URL/api/state" >"$TMP/wrk.out" 2>&1 || true
wait "$WS" || true
after=$(status)

rps=$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk.out")
p99=$(sed -n 's/^ *99% *//p' "$TMP/wrk.out")
non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$TMP/wrk.out")
echo "REST   GET /api/state, $NCONN connections, ${SECS} s: ${rps:-?} requests/s, p99 ${p99:-?}${non2xx:+, $non2xx non-2xx answers}"
echo "WS     $NWS clients: $(tail -1 "$TMP/ws.out")"
echo "       frames per second, all clients together:" \
     "$(awk 'NR > 1 && $1 ~ /^[0-9]+$/ { printf "%s ", $2 }' "$TMP/ws.out")"
m0=$(field "$before" missed_deadlines); m1=$(field "$after" missed_deadlines)
d_missed=$(awk -v a="$m0" -v b="$m1" 'BEGIN { if (a == "?" || b == "?") print "?"; else print b - a }')
echo "LOOP   during the run: missed deadlines ${d_missed:-?}," \
     "max step $(field "$after" max_step_ms) ms, cpu share $(field "$after" cpu_share)," \
     "frames dropped (since start) $(field "$after" frames_dropped)"
grep -q '^Requests/sec' "$TMP/wrk.out" || { echo "server-load: wrk failed:" >&2; cat "$TMP/wrk.out" >&2; exit 1; }
