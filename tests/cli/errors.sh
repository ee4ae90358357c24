#!/usr/bin/env bash
# errors.sh -- bad input must give a clear message and a clean failure.
#
#   errors.sh GREENWAVE DIR     (DIR is tests/cli; ctest passes both)
#
# Each check runs the greenwave binary on one broken input and asserts the
# exit status (1 for input it cannot load, 2 for a wrong command line; never
# a signal, which would show as 128 or more, nor a sanitizer's own status),
# that nothing reached stdout, and that stderr holds the words a user needs:
# the file and line at fault and what was wrong there.  The broken files are
# made on the fly, with sed, from a copy of scenarios/grid4x4 in a temporary
# directory, so the test needs nothing but the repository.
set -u

GW=${1:?usage: errors.sh GREENWAVE DIR}
DIR=${2:?usage: errors.sh GREENWAVE DIR}
SCEN=$(cd "$DIR/../../scenarios/grid4x4" && pwd) || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failed=0

# copy NAME: a fresh copy of the scenario in $TMP/NAME; prints the folder.
copy() {
    mkdir -p "$TMP/$1"
    cp "$SCEN/grid4x4.sumocfg" "$SCEN/grid4x4.net.xml" "$SCEN/grid4x4.rou.xml" "$TMP/$1/"
    echo "$TMP/$1"
}

# check NAME STATUS WORD... -- COMMAND...: runs COMMAND and asserts the exit
# status and that every WORD (a fixed string) appears in stderr.
check() {
    local name=$1 want=$2 words=() w
    shift 2
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do words+=("$1"); shift; done
    shift
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$? bad=""
    [ "$got" -ge 128 ] && bad="killed by signal $((got - 128))"
    [ -z "$bad" ] && [ "$got" -ne "$want" ] && bad="exit status $got, expected $want"
    [ -z "$bad" ] && [ -s "$TMP/out" ] && bad="wrote to stdout on failure"
    for w in "${words[@]}"; do
        [ -z "$bad" ] && ! grep -qF -- "$w" "$TMP/err" && bad="stderr lacks '$w'"
    done
    if [ -n "$bad" ]; then
        echo "FAIL $name: $bad"
        echo "  command: $*"
        sed 's/^/  stderr: /' "$TMP/err" | head -20
        failed=1
    else
        echo "ok   $name: $(head -1 "$TMP/err")"
    fi
}

# A missing scenario file.
check missing-file 1 "$TMP/none.sumocfg" "cannot open" -- "$GW" sim "$TMP/none.sumocfg"

# Malformed XML: the first <lane> loses its "/>", so expat finds a mismatched
# end tag on the next line, and the message must name that line.
d=$(copy unclosed)
n=$(grep -n -m1 '<lane ' "$d/grid4x4.net.xml" | cut -d: -f1)
sed -i "${n}s|\"/>|\">|" "$d/grid4x4.net.xml"
check unclosed-tag 1 "grid4x4.net.xml:$((n + 1)):" "XML syntax error" -- \
    "$GW" sim "$d/grid4x4.sumocfg"

# A lane whose length is not a number.
d=$(copy lane-length)
n=$(grep -n -m1 '<lane ' "$d/grid4x4.net.xml" | cut -d: -f1)
sed -i "${n}s|length=\"[^\"]*\"|length=\"nine\"|" "$d/grid4x4.net.xml"
check lane-length 1 "grid4x4.net.xml:$n:" 'length="nine"' "expected a number" -- \
    "$GW" sim "$d/grid4x4.sumocfg"

# A connection to an edge that the network does not define.
d=$(copy connection)
n=$(grep -n -m1 '<connection from="[^:]' "$d/grid4x4.net.xml" | cut -d: -f1)
sed -i "${n}s| to=\"[^\"]*\"| to=\"nowhere\"|" "$d/grid4x4.net.xml"
check connection-unknown-edge 1 "grid4x4.net.xml:$n:" "'nowhere'" "not defined" -- \
    "$GW" sim "$d/grid4x4.sumocfg"

# A route through an edge that is not in the network.
d=$(copy route-edge)
n=$(grep -n -m1 '<route edges=' "$d/grid4x4.rou.xml" | cut -d: -f1)
sed -i "${n}s|edges=\"[^ ]*|edges=\"nowhere|" "$d/grid4x4.rou.xml"
check route-unknown-edge 1 "grid4x4.rou.xml:$n:" "'nowhere'" "not in the network" -- \
    "$GW" sim "$d/grid4x4.sumocfg"

# A route that skips its second edge, so its first and third do not meet.
d=$(copy route-gap)
n=$(grep -n -m1 '<route edges=' "$d/grid4x4.rou.xml" | cut -d: -f1)
sed -i "${n}s|edges=\"\([^ ]*\) [^ ]* |edges=\"\1 |" "$d/grid4x4.rou.xml"
check route-not-connected 1 "grid4x4.rou.xml:$n:" "no connection from edge" -- \
    "$GW" sim "$d/grid4x4.sumocfg"

# Command-line mistakes.
check unknown-option 2 "unknown option" "--frobnicate" -- \
    "$GW" sim "$SCEN/grid4x4.sumocfg" --frobnicate
check step-not-a-number 2 "--step" "'abc'" "not a number" -- \
    "$GW" sim "$SCEN/grid4x4.sumocfg" --step abc

exit $failed
