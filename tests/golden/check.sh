#!/usr/bin/env bash
# check.sh -- compare one scenario's summary with its reviewed golden file.
#
#   check.sh GREENWAVE SCENARIOS NAME EXPECTED.json
#
# Runs `greenwave sim SCENARIOS/NAME/NAME.sumocfg --json --quiet` and
# compares the deterministic keys of its one-line JSON summary (counts,
# means and vehicle-steps; never times or memory) with EXPECTED.json,
# exactly: the simulator is deterministic for a given seed, so any
# difference is a change in behaviour that must be explained and reviewed.
# With GW_GOLDEN_UPDATE=1 it writes EXPECTED.json instead (update.sh does
# this); the list of keys lives only here.
set -euo pipefail

if [ $# -ne 4 ]; then
    echo "usage: $0 GREENWAVE SCENARIOS NAME EXPECTED.json" >&2
    exit 2
fi
GW=$1 SCENARIOS=$2 NAME=$3 EXPECTED=$4

out=$("$GW" sim "$SCENARIOS/$NAME/$NAME.sumocfg" --json --quiet)

GOT="$out" python3 - "$EXPECTED" "$NAME" "${GW_GOLDEN_UPDATE:-0}" <<'PY'
import json, os, sys

KEYS = ["vehicles_loaded", "vehicles_inserted", "vehicles_arrived", "teleports",
        "collisions", "mean_travel_time_s", "mean_time_loss_s", "mean_waiting_time_s",
        "mean_depart_delay_s", "mean_route_length_m", "veh_steps"]
path, name, update = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
got = json.loads(os.environ["GOT"])
missing = [k for k in KEYS if k not in got]
if missing:
    sys.exit("%s: the summary lacks %s" % (name, ", ".join(missing)))
if update:
    with open(path, "w") as f:
        json.dump({k: got[k] for k in KEYS}, f, indent=2)
        f.write("\n")
    print("%s: wrote %s" % (name, path))
    sys.exit(0)
with open(path) as f:
    want = json.load(f)
bad = [k for k in KEYS if want.get(k) != got[k]]
for k in bad:
    print("%s: %-20s expected %-12s got %s" % (name, k, want.get(k), got[k]))
if bad:
    sys.exit("%s: %d of %d values differ from %s" % (name, len(bad), len(KEYS), path))
print("%s: all %d values match" % (name, len(KEYS)))
PY
