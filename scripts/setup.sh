#!/bin/sh
# setup.sh -- install what Greenwave needs to build, test, fuzz and benchmark.
#
# Greenwave builds with CMake and a C11 compiler; its tests need cmocka, its
# fuzz targets need clang with the libFuzzer and sanitizer runtimes, and the
# benchmarks set its simulator beside SUMO.  This script installs the Debian 12
# packages for all of that.  It is idempotent: each package is checked with
# dpkg first, so a second run installs nothing and takes a fraction of a
# second; the package lists are refreshed only when something is missing.
# It must run as root (or under sudo) the first time; later runs only look.
set -eu

# llvm brings llvm-symbolizer, without which the fuzzers' stack traces show
# addresses instead of file:line; time is GNU time, for the benchmarks.
# The control centre adds libmicrohttpd (HTTP), libsodium (Argon2id password
# hashes), libpq and the PostgreSQL server (the store's second back end,
# tested against a throwaway cluster), sqlite3 (the shell, for backups and
# inspection), Chromium (the dashboard's browser tests) and Node.js with npm
# (the dashboard's packages and the browser tests' driver).
PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev llvm
libexpat1-dev libcmocka-dev libcjson-dev libyajl-dev libsqlite3-dev sqlite3 curl
libmicrohttpd-dev libsodium-dev libpq-dev postgresql chromium
sumo sumo-tools python3 time"
# Node.js may come from elsewhere than Debian (with npm inside it); take
# Debian's only when there is no node and npm at all.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES="$PACKAGES nodejs npm"
fi

# Collect the packages that dpkg does not report as installed.
missing=""
count=0
for p in $PACKAGES; do
    count=$((count + 1))
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "setup: all $count packages are installed"
    exit 0
fi
echo "setup: missing:$missing"

# Installing needs root; say so plainly instead of letting apt-get fail.
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "setup: run as root to install:$missing" >&2
        exit 1
    fi
else
    SUDO=""
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt-get's chatter goes to a log that is shown only when a step fails.
step() {
    echo "setup: $*"
    if ! $SUDO "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "setup: failed: $*" >&2
        exit 1
    fi
}
step apt-get update
# shellcheck disable=SC2086 # the list is meant to split into words
step apt-get install -y --no-install-recommends $missing
echo "setup: done"
