#!/usr/bin/env bash
# bench/controllers.sh -- Greenwave's controllers against the scenarios' own
# fixed plans, on the built-in simulator, in one run.
#
#   bench/controllers.sh [SCENARIO ...]     (default: grid4x4_heavy arterial10 grid10x10)
#
# For each scenario it runs `greenwave compare` with the scenario's program and
# every controller on the same demand and seed, and prints per controller the
# mean time loss, its change against the program, the time loss of the
# vehicles that cross the most signals, teleports, and the cost of control as
# a share of the simulation's own time (control wall time over the rest).
# Timing shares are noisy on a shared machine; the traffic figures are exact.
set -euo pipefail
cd "$(dirname "$0")/.."
GW=${GW:-build/greenwave}
[ -x "$GW" ] || { echo "no $GW: run make build" >&2; exit 1; }
CONTROLLERS=${CONTROLLERS:-program,fixed,actuated,maxpressure,adaptive,coordinated}
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(grid4x4_heavy arterial10 grid10x10)

for s in "${scenarios[@]}"; do
  cfg=scenarios/$s/$s.sumocfg
  echo "== $s"
  "$GW" compare "$cfg" --controllers "$CONTROLLERS" --json | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
base = next((r for r in rows if r["controller"] == "program"), None)
print("%-14s %9s %8s %13s %9s %6s %11s" % ("controller", "loss s", "vs prog", "all-sig loss", "arrived", "telep", "control %"))
for r in rows:
    rel = ""
    if base and base["mean_time_loss_s"] > 0:
        rel = "%+.1f%%" % (100 * (r["mean_time_loss_s"] / base["mean_time_loss_s"] - 1))
    sim = r["sim_wall_s"] - r["control_wall_s"]
    share = "%.1f" % (100 * r["control_wall_s"] / sim) if r["control_wall_s"] > 0 and sim > 0 else "-"
    print("%-14s %9.1f %8s %13.1f %9d %6d %11s" % (r["controller"][:14], r["mean_time_loss_s"], rel,
          r["max_signals_mean_time_loss_s"], r["vehicles_arrived"], r["teleports"], share))
'
done
