#!/usr/bin/env bash
# sim-vs-sumo.sh -- Greenwave's simulator beside SUMO on one scenario.
#
#   bench/sim-vs-sumo.sh SCENARIO [RUNS]     (RUNS defaults to 3)
#
# SCENARIO names a folder of scenarios/ (grid4x4, grid4x4_heavy, arterial10,
# grid10x10).  Both simulators replay the same explicit routes with the same
# fixed-time signal plans; each run starts both once, in alternating order so
# that neither always gets the warmer machine.  The measure is vehicle-steps
# (the sum over steps of the vehicles in the network) per second of wall time
# of the whole process, loading included; each simulator's vehicle-steps are
# its own: Greenwave's from its JSON summary, SUMO's summed from its
# --summary-output exactly as scenarios/SUMO-RESULTS.md does.  Peak RSS comes
# from GNU time.  The script prints one row per simulator per run, then the
# medians and the ratios Greenwave/SUMO.  Timing is noisy on shared machines:
# compare only figures from one invocation.  Env: GW (default
# build/greenwave), SUMO (default sumo), SUMO_HOME (default /usr/share/sumo).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 SCENARIO [RUNS]" >&2
    exit 2
fi
SCEN=$1 RUNS=${2:-3}
SDIR=$ROOT/scenarios/$SCEN
CFG=$SDIR/$SCEN.sumocfg
GW=${GW:-$ROOT/build/greenwave}
SUMO=${SUMO:-sumo}
# Without SUMO_HOME, SUMO looks for its XML schemas on the web and, offline,
# rejects the scenario files.
export SUMO_HOME=${SUMO_HOME:-/usr/share/sumo}
[ -f "$CFG" ] || { echo "no scenario $CFG" >&2; exit 2; }
[ -x "$GW" ] || { echo "no greenwave binary at $GW (run make build)" >&2; exit 2; }
command -v "$SUMO" >/dev/null || { echo "no $SUMO (run scripts/setup.sh)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "no /usr/bin/time (run scripts/setup.sh)" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RESULTS=$TMP/results   # rows: run tool veh_steps wall_s peak_rss_kb arrived

# measure TOOL RUN COMMAND...: runs COMMAND under GNU time, in the scenario
# folder, and appends the wall time (ns clock) and peak RSS to $TMP/TOOL.m.
measure() {
    local tool=$1 run=$2 t0 t1
    shift 2
    t0=$(date +%s%N)
    if ! (cd "$SDIR" && /usr/bin/time -f '%M' -o "$TMP/$tool.rss" "$@" \
            >"$TMP/$tool.out" 2>"$TMP/$tool.err"); then
        echo "$tool failed on run $run:" >&2
        tail -5 "$TMP/$tool.err" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000)) $(tail -1 "$TMP/$tool.rss")" >"$TMP/$tool.m"
}

run_greenwave() {
    measure greenwave "$1" "$GW" sim "$CFG" --json --quiet
    read -r us rss <"$TMP/greenwave.m"
    python3 - "$1" "$us" "$rss" "$TMP/greenwave.out" >>"$RESULTS" <<'PY'
import json, sys
run, us, rss, path = sys.argv[1:5]
d = json.loads(open(path).read())
print(run, "greenwave", d["veh_steps"], int(us) / 1e6, rss, d["vehicles_arrived"])
PY
}

run_sumo() {
    measure sumo "$1" "$SUMO" -c "$CFG" --no-step-log true --duration-log.statistics true \
        --summary-output "$TMP/summary.xml"
    read -r us rss <"$TMP/sumo.m"
    python3 - "$1" "$us" "$rss" "$TMP/summary.xml" >>"$RESULTS" <<'PY'
import re, sys
run, us, rss, path = sys.argv[1:5]
steps = arrived = 0
for line in open(path):
    m = re.search(r'running="(\d+)".*arrived="(\d+)"', line)
    if m:
        steps += int(m.group(1))
        arrived = int(m.group(2))
print(run, "sumo", steps, int(us) / 1e6, rss, arrived)
PY
}

echo "$SCEN: $RUNS runs, Greenwave ($GW) and SUMO ($("$SUMO" --version | head -1)) alternating"
for run in $(seq 1 "$RUNS"); do
    if [ $((run % 2)) -eq 1 ]; then run_greenwave "$run"; run_sumo "$run"
    else run_sumo "$run"; run_greenwave "$run"; fi
done

python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print("%-4s %-10s %12s %9s %14s %13s %9s" %
      ("run", "simulator", "veh-steps", "wall s", "veh-steps/s", "peak RSS MB", "arrived"))
med = {}
for tool in ("greenwave", "sumo"):
    mine = [r for r in rows if r[1] == tool]
    for run, _, vs, wall, rss, arr in mine:
        print("%-4s %-10s %12s %9.3f %14.0f %13.1f %9s" %
              (run, tool, vs, float(wall), int(vs) / float(wall), int(rss) / 1024, arr))
    med[tool] = (statistics.median(int(r[2]) / float(r[3]) for r in mine),
                 statistics.median(float(r[3]) for r in mine),
                 statistics.median(int(r[4]) / 1024 for r in mine))
for tool, (rate, wall, rss) in med.items():
    print("median     %-10s %9.3f s %14.0f veh-steps/s %9.1f MB" % (tool, wall, rate, rss))
g, s = med["greenwave"], med["sumo"]
print("ratio Greenwave/SUMO: speed %.2fx (veh-steps/s), peak RSS %.2fx" % (g[0] / s[0], g[2] / s[2]))
PY
