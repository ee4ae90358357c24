#!/usr/bin/env bash
# fuzz.sh -- run each libFuzzer target for a bounded time.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#       BUILD_DIR  a build configured with CC=clang -DGW_FUZZ=ON (make fuzz
#                  does that: build-fuzz/)
#       SECONDS    fuzzing time per target (libFuzzer -max_total_time)
#       TARGET     sumo_net, sumo_routes, sumo_additional, cityflow_roadnet,
#                  cityflow_flow, traci, ws, api (default: all)
#
# Each target starts from its reviewed seeds in tests/fuzz/corpus/TARGET and
# from what earlier runs found, kept in tests/fuzz/corpus-run/TARGET (ignored
# by git, removed by make clean); only the latter is written to.  libFuzzer's
# chatter goes to BUILD_DIR/fuzz-logs/TARGET.log and one line per target is
# printed.  An input that crashes, leaks, trips a sanitizer, runs over 10 s
# or over 2 GB is written to BUILD_DIR/fuzz-artifacts/TARGET/; the script
# then prints the end of the log and how to replay the input, and exits 1
# once every target has had its turn.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:?usage: fuzz.sh BUILD_DIR SECONDS [TARGET...]}
SECONDS_EACH=${2:?usage: fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sumo_net sumo_routes sumo_additional cityflow_roadnet cityflow_flow traci ws api)

failed=0
for t in "${TARGETS[@]}"; do
    bin=$BUILD/tests/fuzz/fuzz_$t
    log=$BUILD/fuzz-logs/$t.log
    art=$BUILD/fuzz-artifacts/$t/
    run=$ROOT/tests/fuzz/corpus-run/$t
    mkdir -p "$(dirname "$log")" "$art" "$run"
    touch "$art.start"
    # The XML dictionary helps the SUMO importers only.
    dict=()
    case $t in sumo_*) dict=(-dict="$ROOT/tests/fuzz/sumo.dict") ;; esac
    if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}" -artifact_prefix="$art" \
        "$run" "$ROOT/tests/fuzz/corpus/$t" >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "fuzz $t: ok, $execs inputs in ${SECONDS_EACH} s, $cov, corpus $(find "$run" -type f | wc -l) + seeds"
    else
        failed=1
        echo "fuzz $t: FAILED; end of $log:"
        grep -v '^#[0-9]' "$log" | tail -40 | sed 's/^/  /'
        find "$art" -type f -newer "$art.start" | while read -r a; do
            echo "  replay: $bin $a"
        done
    fi
done
exit $failed
