#!/bin/sh
# Runs every signal performance measure on the sample log of samples/ and
# checks that each gives output: rows for one of the signal's phases, or
# for health at least the count of findings.
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
for m in split terminations pcd aog splitfail volume redyellow health; do
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
exit $fail
