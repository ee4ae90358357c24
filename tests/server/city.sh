#!/bin/sh
# city.sh -- checks the embedded demo city "phnom-penh" (cities/phnom-penh).
#
#   city.sh GREENWAVE_BINARY SOURCE_DIR
#
# 1. scripts/gen-city.py regenerates the city into a temporary folder and the
#    result is byte-identical to the committed files (skipped, with a message,
#    where netconvert or python3 is missing or netconvert is another version).
# 2. Every signal loads with signal groups and stages.
# 3. Greenwave's simulator runs the morning peak hour, 07:00-08:00: no
#    collision, and vehicles keep arriving (at least half of those that entered).
set -eu

gw=$1
src=$2
city=$src/cities/phnom-penh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "city: FAIL: $*" >&2
  exit 1
}

[ -x "$gw" ] || fail "no greenwave binary at $gw"
for f in net.xml rou.xml det.add.xml sumocfg; do
  [ -f "$city/phnom-penh.$f" ] || fail "missing $city/phnom-penh.$f"
done

# 1. Determinism.
if ! command -v netconvert >/dev/null 2>&1; then
  echo "city: netconvert not found: skipping the regeneration check"
elif ! command -v python3 >/dev/null 2>&1; then
  echo "city: python3 not found: skipping the regeneration check"
else
  want=$(sed -n '2s/.*with netconvert \([0-9][0-9.]*\).*/\1/p' "$city/phnom-penh.net.xml")
  have=$(netconvert --version 2>/dev/null | sed -n '1s/.*Version \([0-9][0-9.]*\).*/\1/p')
  if [ -z "$want" ] || [ "$want" != "$have" ]; then
    echo "city: netconvert $have here, the city was made with ${want:-?}:" \
      "skipping the regeneration check"
  else
    python3 "$src/scripts/gen-city.py" --out "$tmp/gen" >"$tmp/gen.log" 2>&1 ||
      fail "gen-city.py failed: $(cat "$tmp/gen.log")"
    for f in net.xml rou.xml det.add.xml sumocfg; do
      cmp -s "$city/phnom-penh.$f" "$tmp/gen/phnom-penh.$f" ||
        fail "regenerated phnom-penh.$f differs from the committed one"
    done
    echo "city: regenerated files are identical ($(head -1 "$tmp/gen.log"))"
  fi
fi

# 2. Signals: each has groups and stages.
"$gw" signals "$city/phnom-penh.sumocfg" >"$tmp/signals.txt" 2>&1 ||
  fail "greenwave signals: $(tail -3 "$tmp/signals.txt")"
nsig=$(grep -c '^signal ' "$tmp/signals.txt" || true)
[ "$nsig" -ge 40 ] || fail "$nsig signals, expected at least 40"
bad=$(grep '^signal ' "$tmp/signals.txt" | grep -c ' 0 groups\| 0 stages' || true)
[ "$bad" -eq 0 ] || fail "$bad signals without groups or stages"
echo "city: $nsig signals with groups and stages"

# 3. The morning peak hour (a configuration that starts at 07:00).
sed -e "s#value=\"phnom-penh\.#value=\"$city/phnom-penh.#" \
  -e 's#<begin value="[0-9]*"/>#<begin value="25200"/>#' \
  -e 's#<end value="[0-9]*"/>#<end value="28800"/>#' \
  "$city/phnom-penh.sumocfg" >"$tmp/peak.sumocfg"
"$gw" sim "$tmp/peak.sumocfg" --json --quiet >"$tmp/peak.json" 2>"$tmp/peak.err" ||
  fail "greenwave sim: $(tail -3 "$tmp/peak.err")"
num() {
  sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$tmp/peak.json" | cut -d. -f1
}
ins=$(num vehicles_inserted)
arr=$(num vehicles_arrived)
col=$(num collisions)
tel=$(num teleports)
[ -n "$ins" ] && [ -n "$arr" ] && [ -n "$col" ] || fail "unexpected summary: $(cat "$tmp/peak.json")"
echo "city: 07:00-08:00: $ins vehicles entered, $arr arrived, $tel teleports, $col collisions"
[ "$col" -eq 0 ] || fail "$col collisions"
[ "$ins" -gt 1000 ] || fail "only $ins vehicles entered in the peak hour"
[ $((arr * 2)) -ge "$ins" ] || fail "only $arr of $ins vehicles arrived: the city locks up"
echo "city: ok"
