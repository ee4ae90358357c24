#!/usr/bin/env bash
# cityflow-speed.sh -- vehicle-updates per second of the CityFlow dynamics on
# a generated 4x4 grid with about 1,500 vehicles in the network (one core).
#
#   bench/cityflow-speed.sh [GREENWAVE] [RUNS]
#
# Writes the grid with scripts/gen-cityflow.py into a temporary folder, runs
# `greenwave sim --cityflow ... --controller fixedtime --end 3600` RUNS times
# (default 3) pinned to one core when taskset is there, and prints the mean
# vehicles in the network, vehicle-steps and vehicle-updates per second of
# simulation wall time (control included) for each run and the best.
set -euo pipefail
GW=${1:-build/greenwave}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/gw-cf-speed-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
python3 "$HERE/scripts/gen-cityflow.py" "$DIR" --rows 4 --cols 4 --turns --interval 6
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"
best=0
for i in $(seq "$RUNS"); do
    out=$($PIN "$GW" sim --cityflow "$DIR/config.json" --controller fixedtime --end 3600 --json --quiet)
    line=$(OUT="$out" python3 -c '
import json, os
d = json.loads(os.environ["OUT"])
w = d["sim_wall_s"]
print("%.0f %d %.0f" % (d["veh_steps"] / d["sim_end_s"], d["veh_steps"], d["veh_steps"] / w))')
    set -- $line
    echo "run $i: mean in network $1, vehicle-steps $2, vehicle-updates/s $3"
    if [ "$3" -gt "$best" ]; then best=$3; fi
done
echo "best: $best vehicle-updates/s (CityFlow dynamics, lane changing off, one core)"
