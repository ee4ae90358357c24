#!/usr/bin/env bash
# coverage-monitor.sh -- branch coverage of the safety monitor by its tests.
#
#   scripts/coverage-monitor.sh [BUILD_DIR]
#       BUILD_DIR  where to build with gcc --coverage (default
#                  /tmp/greenwave-coverage-monitor; wiped first)
#
# Builds the library and tests/unit/test_monitor.c with gcc --coverage -O0,
# runs test_monitor (GW_PROPERTY_STEPS from the environment, default
# 1,000,000: coverage needs variety, not volume), then prints gcov -b's
# summary for src/control/monitor.c and every branch that was never taken.
# The goal is 100 % of branches taken; the monitor is the code that keeps
# conflicting streams apart, so every branch of it must be exercised.
# Needs nothing beyond gcc's own gcov.  Exits 1 when the test fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-/tmp/greenwave-coverage-monitor}

rm -rf "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_C_FLAGS="--coverage -O0" -DCMAKE_EXE_LINKER_FLAGS="--coverage" >/dev/null
cmake --build "$BUILD" -j2 --target test_monitor >/dev/null

export GW_PROPERTY_STEPS=${GW_PROPERTY_STEPS:-1000000}
if ! "$BUILD/tests/test_monitor" >"$BUILD/test_monitor.log" 2>&1; then
    tail -40 "$BUILD/test_monitor.log"
    echo "coverage-monitor: test_monitor failed (log: $BUILD/test_monitor.log)" >&2
    exit 1
fi

OBJ=$BUILD/CMakeFiles/greenwave_lib.dir/src/control
cd "$BUILD"
gcov -b -o "$OBJ/monitor.c.o" "$ROOT/src/control/monitor.c" >gcov.out 2>&1
sed -n "/File '.*monitor\.c'/,/^$/p" gcov.out
# Branches never taken, with their lines (gcov -b marks them "never
# executed" or "taken 0%").
awk '/^ *[-#0-9]+:/ { line = $0 }
     /^branch .*(never executed|taken 0%)/ { print "  not taken: " $0 "  <- " line }' \
    monitor.c.gcov || true
