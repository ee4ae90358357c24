#!/bin/sh
# Runs every signal performance measure on the sample log of samples/ and
# checks that each gives output: rows for one of the signal's phases, or
# for health at least the count of findings.  The sample map has no
# movement column and the log no pedestrian events: tmc and peddelay must
# say so and exit 0; tmc then runs on a copy of the map given movements.
# $1: the greenwave binary, $2: the source directory.
set -eu
G=$1
SRC=$2
LOG=$SRC/samples/phnom-penh-peak.events.csv.gz
MAP=$SRC/samples/phnom-penh.detectors.csv
S=monivong_russian
TMP=${TMPDIR:-/tmp}/gw-samples.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fail=0
for m in split terminations pcd aog splitfail volume redyellow delay health; do
  if ! gzip -dc "$LOG" | "$G" measures - --signal $S --measure $m --detectors "$MAP" \
      >"$TMP/$m.out" 2>"$TMP/$m.err"; then
    echo "FAIL $m: exit status $?"; cat "$TMP/$m.err"; fail=1; continue
  fi
  case $m in
    health) grep -q "finding" "$TMP/$m.err" || { echo "FAIL $m: no finding count"; fail=1; } ;;
    *) [ "$(grep -c '^ *[1-4] ' "$TMP/$m.out")" -ge 4 ] ||
         { echo "FAIL $m: no phase rows"; cat "$TMP/$m.out"; fail=1; } ;;
  esac
  gzip -dc "$LOG" | "$G" measures - --signal $S --measure $m --detectors "$MAP" --json \
      >"$TMP/$m.json" 2>/dev/null
  [ -s "$TMP/$m.json" ] || { echo "FAIL $m: empty JSON"; fail=1; }
  echo "ok $m"
done
gzip -dc "$LOG" | "$G" measures - --signal $S --measure pcd --detectors "$MAP" --svg "$TMP/pcd.svg" \
    >/dev/null 2>&1
grep -q "<svg" "$TMP/pcd.svg" || { echo "FAIL pcd: no SVG"; fail=1; }
gzip -dc "$LOG" | "$G" measures - --signal $S --measure delay --detectors "$MAP" --svg "$TMP/delay.svg" \
    >/dev/null 2>&1
grep -q "<rect" "$TMP/delay.svg" || { echo "FAIL delay: no SVG bars"; fail=1; }

# Nothing to count: a plain note, exit 0 (the map without its movement column).
cut -d, -f1-3 "$MAP" >"$TMP/map3.csv"
gzip -dc "$LOG" | "$G" measures - --signal $S --measure tmc --detectors "$TMP/map3.csv" \
    >"$TMP/tmc0.out" 2>&1 || { echo "FAIL tmc without movements: exit status $?"; fail=1; }
grep -q "names no movement" "$TMP/tmc0.out" || { echo "FAIL tmc: no note"; cat "$TMP/tmc0.out"; fail=1; }
gzip -dc "$LOG" | "$G" measures - --signal $S --measure peddelay --json >"$TMP/ped.json" 2>&1 ||
  { echo "FAIL peddelay: exit status $?"; fail=1; }
grep -q '"note": "no pedestrian events' "$TMP/ped.json" || { echo "FAIL peddelay: no note"; fail=1; }
echo "ok peddelay"

# The sample's map with its movements (written by greenwave sim --detector-map).
if gzip -dc "$LOG" | "$G" measures - --signal $S --measure tmc --detectors "$MAP" \
    --svg "$TMP/tmc.svg" >"$TMP/tmc.out" 2>"$TMP/tmc.err"; then
  [ "$(grep -c '^ *[1-4]  [LTR]' "$TMP/tmc.out")" -ge 4 ] ||
    { echo "FAIL tmc: no movement rows"; cat "$TMP/tmc.out"; fail=1; }
  grep -q "<rect" "$TMP/tmc.svg" || { echo "FAIL tmc: no SVG bars"; fail=1; }
  echo "ok tmc"
else
  echo "FAIL tmc: exit status $?"; cat "$TMP/tmc.err"; fail=1
fi
exit $fail
