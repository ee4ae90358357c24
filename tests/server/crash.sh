#!/bin/sh
# crash.sh -- kill -9 the centre under load and restart it (see crash.py),
# on SQLite and, when the PostgreSQL fixture is up, on PostgreSQL.
set -eu
bin=$1 src=$2
python3 "$src/tests/server/crash.py" "$bin" "$src"
if [ -n "${GW_TEST_PG_URL:-}" ]; then
    python3 "$src/tests/server/crash.py" "$bin" "$src" "$GW_TEST_PG_URL"
fi
