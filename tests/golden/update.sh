#!/usr/bin/env bash
# update.sh -- regenerate the golden summaries from the current simulator.
#
#   tests/golden/update.sh [GREENWAVE]     (default: build/greenwave)
#
# Writes tests/golden/NAME.expected.json for each scenario below through
# check.sh, which owns the list of compared keys.  A golden update changes
# what the tests accept: review the diff like code and say in the commit why
# the numbers moved.  grid10x10 is left out: it takes too long under the
# sanitizers, and the three below already cover signals, queues and spill-back.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GW=${1:-$ROOT/build/greenwave}
[ -x "$GW" ] || { echo "no greenwave binary at $GW (run make build)" >&2; exit 1; }

for name in grid4x4 arterial10 grid4x4_heavy; do
    GW_GOLDEN_UPDATE=1 "$HERE/check.sh" "$GW" "$ROOT/scenarios" "$name" \
        "$HERE/$name.expected.json"
done
echo "review the change: git diff tests/golden (the next build picks up new files)"
