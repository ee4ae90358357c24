#!/usr/bin/env bash
# bench/control-vs-sumo.sh -- Greenwave's controllers driving SUMO's signals
# over TraCI, beside SUMO's own static, actuated and delay_based programs, on
# the same SUMO traffic; then the cost of TraCI on grid10x10.
#
#   bench/control-vs-sumo.sh [SCENARIO ...]   (default: grid4x4 grid4x4_heavy arterial10)
#
# Part 1, traffic: for each scenario, `greenwave field sumo` with
#   --controller program                                  (SUMO static, the net's program "0")
#   --controller program --additional tls.actuated.add.xml   (SUMO actuated)
#   --controller program --additional tls.delay_based.add.xml (SUMO delay_based)
#   --controller fixed|actuated|maxpressure|adaptive      (Greenwave, under its monitor)
#   --controller C:clearance=program                      (the same with the program's own
#                                                          clearance intervals, rows "-pc")
# and one table: mean time loss (SUMO's tripinfo, arrived vehicles), its
# change against SUMO static and against the better of SUMO's actuated and
# delay_based, the loss of the vehicles crossing the most signals, arrived,
# teleports and fail-safes.  JOBS runs go in parallel (default 2); the
# traffic figures do not depend on it.
#
# Part 2, overhead: grid10x10, the whole scenario (or OVERHEAD_END simulated
# seconds), one run at a time.  First SUMO alone (`sumo -c ...`, with the
# loops loaded, no TraCI): its own loop time.  Then `greenwave field sumo`
# with the program and with controllers: traci_wall_s (time waiting for
# replies, SUMO's step included), SUMO's step time from its duration log
# (Duration minus TraCI-Duration), overhead = traci_wall_s - step time, and
# that overhead as a share of the step time; the last column sets the whole
# loop (minus Greenwave's control) against SUMO alone.  The whole scenario
# takes about 2 minutes a run; a short OVERHEAD_END measures the nearly
# empty network, where SUMO's step is cheapest and the share is highest.
# Timing is noisy on a shared machine; compare within one run of this script.
set -euo pipefail
cd "$(dirname "$0")/.."
GW=${GW:-build/greenwave}
[ -x "$GW" ] || { echo "no $GW: build first (or set GW=path/to/greenwave)" >&2; exit 1; }
command -v sumo >/dev/null || { echo "sumo not found (apt-get install sumo)" >&2; exit 1; }
export SUMO_HOME=${SUMO_HOME:-/usr/share/sumo}
JOBS=${JOBS:-2}
OVERHEAD_END=${OVERHEAD_END-}
OVERHEAD_CONTROLLERS=${OVERHEAD_CONTROLLERS:-program fixed actuated adaptive maxpressure}
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(grid4x4 grid4x4_heavy arterial10)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One line per run: scenario, label, then the arguments of `field sumo`.
jobs_file=$out/jobs
for s in "${scenarios[@]}"; do
  d=scenarios/$s
  echo "$s sumo-static --controller program" >>"$jobs_file"
  for m in actuated delay_based; do
    echo "$s sumo-$m --controller program --additional $d/tls.$m.add.xml" >>"$jobs_file"
  done
  for c in fixed actuated maxpressure adaptive; do
    echo "$s gw-$c --controller $c" >>"$jobs_file"
    echo "$s gw-$c-pc --controller $c:clearance=program" >>"$jobs_file"
  done
done
run_one() {
  local s=$1 label=$2
  shift 2
  if ! "$GW" field sumo "scenarios/$s/$s.sumocfg" "$@" --json --quiet >"$OUT/$s.$label.json" \
       2>"$OUT/$s.$label.err"; then
    echo "$s $label failed: $(tail -1 "$OUT/$s.$label.err")" >&2
  fi
}
export -f run_one
export GW OUT=$out
echo "running $(wc -l <"$jobs_file") SUMO runs, $JOBS at a time ..." >&2
xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' _ <"$jobs_file"

python3 - "$out" "${scenarios[@]}" <<'EOF'
import json, os, sys
out, scenarios = sys.argv[1], sys.argv[2:]
labels = ["sumo-static", "sumo-actuated", "sumo-delay_based"]
for c in ["fixed", "actuated", "maxpressure", "adaptive"]:
    labels += ["gw-" + c, "gw-" + c + "-pc"]
print("%-14s %-17s %9s %8s %9s %13s %8s %6s %6s %7s" % ("scenario", "signals run by", "loss s",
      "vs stat", "vs b.act", "all-sig loss", "arrived", "telep", "fails", "wall s"))
def load(s, l):
    try:
        return json.load(open(os.path.join(out, "%s.%s.json" % (s, l))))
    except (OSError, ValueError):
        return None
for s in scenarios:
    base = None
    acts = [r["mean_time_loss_s"] for r in (load(s, "sumo-actuated"), load(s, "sumo-delay_based"))
            if r]
    best_act = min(acts) if acts else None
    for l in labels:
        p = os.path.join(out, "%s.%s.json" % (s, l))
        try:
            r = json.load(open(p))
        except (OSError, ValueError):
            print("%-14s %-17s %9s" % (s, l, "failed"))
            continue
        if l == "sumo-static":
            base = r["mean_time_loss_s"]
        rel = "%+.1f%%" % (100 * (r["mean_time_loss_s"] / base - 1)) if base else ""
        ract = "%+.1f%%" % (100 * (r["mean_time_loss_s"] / best_act - 1)) if best_act else ""
        print("%-14s %-17s %9.1f %8s %9s %13.1f %8d %6d %6d %7.1f" % (s, l, r["mean_time_loss_s"],
              rel, ract, r["max_signals_mean_time_loss_s"], r["vehicles_arrived"], r["teleports"],
              r["failsafes"], r["wall_s"]))
print()
print("vs b.act: against the better of SUMO's actuated and delay_based programs.")
print("-pc: the same controller with the program's own clearance intervals (clearance=program:")
print("yellow 3 s and no all-red, as SUMO's programs run); without it the monitor adds the")
print("all-red derived from the junction's geometry (about 2 s per change of right of way).")
EOF

echo
endarg=()
[ -n "$OVERHEAD_END" ] && endarg=(--end "$OVERHEAD_END")
echo "== TraCI overhead: grid10x10, ${OVERHEAD_END:-the whole scenario,} ${OVERHEAD_END:+s }simulated"
cfg=scenarios/grid10x10/grid10x10.sumocfg
sumo -c "$cfg" -a scenarios/grid10x10/detectors.add.xml "${endarg[@]}" --no-step-log \
  --duration-log.statistics >"$out/alone.log" 2>&1
alone=$(awk '/^Performance:/{p=1} p && /^ Duration:/{sub("s","",$2); print $2; exit}' "$out/alone.log")
for c in $OVERHEAD_CONTROLLERS; do
  "$GW" field sumo "$cfg" --controller "$c" "${endarg[@]}" --json --quiet >"$out/oh.$c.json"
done
python3 - "$out" "$alone" $OVERHEAD_CONTROLLERS <<'EOF'
import json, os, sys
out, alone, ctls = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
print("SUMO alone (no TraCI, loops loaded): %.2f s" % alone)
print("%-12s %8s %8s %9s %10s %10s %8s %9s %12s" % ("controller", "lanes", "loops", "traci s",
      "SUMO step", "overhead", "share", "control", "vs alone"))
for c in ctls:
    r = json.load(open(os.path.join(out, "oh.%s.json" % c)))
    step, tw = r["sumo_step_wall_s"], r["traci_wall_s"]
    loop = r["sim_wall_s"] - r["control_wall_s"]
    print("%-12s %8d %8d %9.2f %10.2f %10.2f %7.0f%% %9.2f %+11.0f%%" % (c, r["lanes_read"],
          r["loops_read"], tw, step, tw - step, 100 * (tw - step) / step if step > 0 else 0,
          r["control_wall_s"], 100 * (loop / alone - 1) if alone > 0 else 0))
EOF
