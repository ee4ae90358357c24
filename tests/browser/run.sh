#!/bin/sh
# run.sh -- the dashboard's end-to-end browser tests.
#   tests/browser/run.sh GREENWAVE_BINARY SOURCE_DIR
# Makes a store in a temporary folder with an admin, an operator and a
# viewer, starts `greenwave serve` on a free loopback port with the grid4x4
# scenario at 20x speed (so that some twenty minutes of field time, enough
# for the performance measures, have passed when the tests reach them), builds web/vendor if missing, installs playwright-core
# (no browser download: the system's /usr/bin/chromium is used) and runs the
# tests with node's test runner.  `run.sh --mock SOURCE_DIR` runs them against
# tests/browser/mock-server.mjs instead.  Prints "N passed, M failed" last.
set -u
bin=${1:?usage: run.sh GREENWAVE_BINARY SOURCE_DIR}
src=$(cd "${2:?usage: run.sh GREENWAVE_BINARY SOURCE_DIR}" && pwd)
here="$src/tests/browser"
tmp=$(mktemp -d /tmp/gw-browser.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

command -v node >/dev/null || fail "node is not installed"
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ] || fail "no /usr/bin/chromium (Debian package chromium)"

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
pw_admin=admin-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
pw_view=view-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
pw_op=op-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

if [ "$bin" = "--mock" ]; then
  pw_admin=admin pw_view=view pw_op=op
  node "$here/mock-server.mjs" "$port" >"$tmp/daemon.log" 2>&1 &
  pid=$!
else
  [ -x "$bin" ] || fail "no greenwave binary at $bin"
  db="sqlite:$tmp/db"
  printf '%s\n' "$pw_admin" | "$bin" user add admin --role admin --db "$db" --password-stdin || fail "user add admin"
  printf '%s\n' "$pw_op" | "$bin" user add op --role operator --db "$db" --password-stdin || fail "user add op"
  printf '%s\n' "$pw_view" | "$bin" user add view --role viewer --db "$db" --password-stdin || fail "user add view"
  [ -d "$src/web/vendor" ] || sh "$src/web/build.sh" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "web/build.sh"; }
  "$bin" serve --listen "127.0.0.1:$port" --db "$db" --scenario "$src/scenarios/grid4x4/grid4x4.sumocfg" \
    --speed 20 --start 00:00 --web "$src/web" --quiet >"$tmp/daemon.log" 2>&1 &
  pid=$!
fi

i=0
until curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 150 ] || ! kill -0 "$pid" 2>/dev/null; then
    cat "$tmp/daemon.log" >&2
    fail "the daemon did not answer /api/health"
  fi
  sleep 0.2
done

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1 ||
    { cat "$tmp/npm.log" >&2; fail "npm ci in tests/browser"; }
fi

cd "$here" || exit 1
GW_URL="http://127.0.0.1:$port" GW_ADMIN=admin GW_ADMIN_PW="$pw_admin" GW_VIEWER=view GW_VIEWER_PW="$pw_view" \
  GW_OPERATOR=op GW_OPERATOR_PW="$pw_op" \
  timeout 170 node --test --test-reporter=spec --test-concurrency=1 dashboard.test.mjs >"$tmp/out.txt" 2>&1
rc=$?
cat "$tmp/out.txt"
passed=$(sed -n 's/^[^a-z]*pass \([0-9]*\)$/\1/p' "$tmp/out.txt" | tail -1)
failed=$(sed -n 's/^[^a-z]*fail \([0-9]*\)$/\1/p' "$tmp/out.txt" | tail -1)
if [ $rc -ne 0 ] && [ "${failed:-0}" = 0 ]; then
  echo "--- daemon log (tail)"; tail -20 "$tmp/daemon.log"
  failed=1
fi
[ $rc -ne 0 ] && { echo "--- daemon log (tail)"; tail -20 "$tmp/daemon.log"; }
echo "${passed:-0} passed, ${failed:-0} failed"
[ $rc -eq 0 ]
