#!/usr/bin/env bash
# mutate-monitor.sh -- does test_monitor notice when the safety monitor breaks?
#
#   scripts/mutate-monitor.sh [STEPS]
#       STEPS  GW_PROPERTY_STEPS for each run (default 300000: a second or
#              so per mutant in Release)
#
# Mutation testing for the one module where a silent test is dangerous.
# The working tree (without .git and build folders) is copied to a
# temporary folder and built there once; then each mutation below is
# applied to the copy's src/control/monitor.c with sed, test_monitor is
# rebuilt and run, and one line is printed per mutation:
#     killed    the test failed, as it must
#     SURVIVED  the test passed with the monitor broken: a hole in the tests
#     NOT APPLIED / BUILD FAILED   the sed no longer matches monitor.c, or
#               the mutant does not compile: fix the mutation
# Exits 0 only when every mutation was applied and killed.  Your tree is
# never touched; the copy is removed at the end (KEEP=1 keeps it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STEPS=${1:-300000}
WORK=$(mktemp -d /tmp/greenwave-mutate.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

# Each mutation: a name, then a sed script for monitor.c.  The rules they
# break are those of checker.c (R1..R4) or the monitor's contract.
MUTATIONS=(
  "skip the all-red wait in may_show"
  's/t - mon->since\[h\] < m->allred_s\[h\]\[g\] - 1e-9/0/'

  "all-red of the wrong direction (allred[g][h])"
  's/m->allred_s\[h\]\[g\] - 1e-9/m->allred_s[g][h] - 1e-9/'

  "ignore the minimum green"
  's/age >= m->groups\[g\].min_green_s - 1e-9/1/'

  "end the yellow immediately"
  's/age >= m->groups\[g\].yellow_s - 1e-9/1/'

  "treat YIELDS as NONE in compatible()"
  's/if (ab == GW_CONFLICT_NONE \&\& ba == GW_CONFLICT_NONE) return 1;/if (ab != GW_CONFLICT_HARD \&\& ba != GW_CONFLICT_HARD) return 1;/'

  "a hard conflict counts only in one direction"
  's/if (ab == GW_CONFLICT_HARD || ba == GW_CONFLICT_HARD) return 0;/if (ab == GW_CONFLICT_HARD) return 0;/'

  "every non-red group counts as permissive in may_show"
  's/compatible(m, g, mg, h, mon->minor\[h\])/compatible(m, g, mg, h, 1)/'

  "step up from g to G without checking"
  's/if (may_show(mon, g, 0, t)) mon->minor\[g\] = 0;/mon->minor[g] = 0;/'

  "start a green without checking"
  's/if (!may_show(mon, g, mg, t)) continue;/(void)0;/'

  "fail-safe keeps serving the target"
  's/uint64_t want = mon->failsafe || mon->flash_req ? 0 : s->green;/uint64_t want = mon->flash_req ? 0 : s->green;/'

  "check_field never enters fail-safe"
  '/^int gw_monitor_check_field/,/^}/s/mon->failsafe = 1;/mon->failsafe = 0;/'

  "fail-safe ends before all red"
  's/if (all_red) {/if (1) {/'

  "refused requests are not counted"
  's/mon->refused++;/(void)0;/'

  "the last stage number plus one is accepted"
  's/if (stage >= mon->m.nstages) {/if (stage > mon->m.nstages) {/'

  "a stage counts as reached with the wrong G/g"
  's/reached = mon->lamp\[g\] == GW_LAMP_GREEN \&\& mon->minor\[g\] == (s->minor >> g \& 1);/reached = mon->lamp[g] == GW_LAMP_GREEN;/'

  "the stage is not timed when it is reached"
  's/mon->stage_since_t = t;/(void)0;/'

  "no stage is ever reported reached"
  's/if (reached \&\& mon->shown != mon->target) {/if (0) {/'

  "flash starts without ending the greens and serving the all-red"
  's/if (all_red) mon->flashing = 1;/mon->flashing = 1;/'

  "leaving flash skips the all-red"
  '/mon->flashing = 0;/,/^    }/s/mon->since\[g\] = t;/mon->since[g] = t - 1e6;/'
)

echo "mutate-monitor: copying the tree to $WORK"
tar -C "$ROOT" --exclude=./.git --exclude='./build*' --exclude=./var --exclude=./node_modules \
    --exclude=./tests/fuzz/corpus-run -cf - . | tar -C "$WORK" -xf -
SRC=$WORK/src/control/monitor.c
cp "$SRC" "$WORK/monitor.c.orig"
cmake -S "$WORK" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$WORK/build" -j2 --target test_monitor >/dev/null

# The unmutated monitor must pass, or every "killed" below means nothing.
if ! GW_PROPERTY_STEPS=$STEPS "$WORK/build/tests/test_monitor" >"$WORK/orig.log" 2>&1; then
    tail -20 "$WORK/orig.log"
    echo "mutate-monitor: test_monitor fails on the unmutated monitor" >&2
    exit 1
fi

bad=0
n=0
for ((i = 0; i < ${#MUTATIONS[@]}; i += 2)); do
    name=${MUTATIONS[i]}
    script=${MUTATIONS[i + 1]}
    n=$((n + 1))
    cp "$WORK/monitor.c.orig" "$SRC"
    sed -i "$script" "$SRC"
    if cmp -s "$SRC" "$WORK/monitor.c.orig"; then
        printf '%2d  NOT APPLIED   %s\n' "$n" "$name"
        bad=1
        continue
    fi
    if ! cmake --build "$WORK/build" -j2 --target test_monitor >"$WORK/build-$n.log" 2>&1; then
        printf '%2d  BUILD FAILED  %s\n' "$n" "$name"
        bad=1
        continue
    fi
    log=$WORK/run-$n.log
    if GW_PROPERTY_STEPS=$STEPS timeout 300 "$WORK/build/tests/test_monitor" >"$log" 2>&1; then
        printf '%2d  SURVIVED      %s\n' "$n" "$name"
        bad=1
    else
        # Which tests caught it, and the property harness's first words.
        tests=$(sed -n 's/^\[  FAILED  \] \([a-z_0-9]*\)$/\1/p' "$log" | sort -u | tr '\n' ' ')
        how=$(grep -m1 -E '^FAIL \(' "$log" | sed 's/^FAIL ([^)]*): //' | cut -c1-90 || true)
        printf '%2d  killed        %s\n      by: %s\n' "$n" "$name" "$tests"
        [ -z "$how" ] || printf '      first property failure: %s\n' "$how"
    fi
done
cp "$WORK/monitor.c.orig" "$SRC"
[ $bad = 0 ] && echo "mutate-monitor: all $n mutations killed" ||
    echo "mutate-monitor: some mutations were not killed (see above)"
exit $bad
