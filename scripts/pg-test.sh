#!/usr/bin/env bash
# pg-test.sh -- a throwaway PostgreSQL server for the tests.
#
#   scripts/pg-test.sh start DIR   a fresh cluster in DIR/data, listening only
#                                  on the unix socket DIR/.s.PGSQL.5432 (no TCP
#                                  port at all), with a database `greenwave`
#   scripts/pg-test.sh stop DIR    stops it and removes DIR
#
# Clients connect with postgresql:///greenwave?host=DIR (authentication:
# trust, for the local socket only).  Prints nothing but errors.
#
# Runs as a normal user (the cluster is that user's) or as root: PostgreSQL
# refuses to run as root, so the server runs as the `postgres` system user
# and a superuser role named after the calling user is created, so that the
# same URL works for the tests.  When `postgres` cannot reach DIR (a build
# tree under a private home directory), the cluster lives in a directory of
# its own under /tmp and DIR is a symbolic link to it.
#
# start is idempotent: a cluster left in DIR by an earlier run is stopped
# and wiped first.  The server binaries are found under
# /usr/lib/postgresql/*/bin (the newest version there), or on PATH.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
CMD=$1
DIR=$2
case $DIR in
    /*) ;;
    *) DIR=$PWD/$DIR ;;
esac

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$BIN" ] && [ -x "$BIN/initdb" ]; then
    PATH=$BIN:$PATH
fi
if ! command -v initdb >/dev/null 2>&1; then
    echo "pg-test.sh: initdb not found (install the postgresql package)" >&2
    exit 1
fi

ME=$(id -un)
AS=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "pg-test.sh: running as root needs the 'postgres' system user" >&2
        exit 1
    fi
    if command -v runuser >/dev/null 2>&1; then
        AS=(runuser -u postgres --)
    else
        AS=(sudo -u postgres)
    fi
fi

# Runs a server tool as the cluster's owner, its output to the log.
as_owner() {
    "${AS[@]}" "$@" >>"$LOG" 2>&1
}

fail() {
    echo "pg-test.sh: $1" >&2
    if [ -f "$LOG" ]; then
        tail -n 20 "$LOG" >&2
    fi
    exit 1
}

# Stops whatever cluster DIR holds and removes DIR (and the directory it
# links to).
wipe() {
    local real
    real=$(readlink -f "$DIR" 2>/dev/null || true)
    if [ -d "$real" ] && [ -n "$(ls -A "$real")" ] && [ ! -f "$real/.greenwave-pg" ]; then
        echo "pg-test.sh: '$DIR' is not a test cluster made by this script; not removing it" >&2
        exit 1
    fi
    if [ -f "$DIR/data/postmaster.pid" ]; then
        "${AS[@]}" pg_ctl stop -D "$DIR/data" -m immediate -w >/dev/null 2>&1 || true
    fi
    if [ -L "$DIR" ]; then
        rm -f "$DIR"
    fi
    if [ -n "$real" ] && [ -d "$real" ]; then
        rm -rf "$real"
    fi
}

case $CMD in
    stop)
        LOG=/dev/null
        # The cluster is thrown away: no need for a clean shutdown.
        wipe
        ;;
    start)
        wipe
        mkdir -p "$(dirname "$DIR")"
        # The socket path must fit in sun_path (107 bytes).
        if [ $((${#DIR} + 16)) -gt 107 ]; then
            echo "pg-test.sh: '$DIR' is too long for a unix socket path" >&2
            exit 1
        fi
        REAL=$DIR
        if [ ${#AS[@]} -gt 0 ] && ! "${AS[@]}" test -x "$(dirname "$DIR")"; then
            REAL=$(mktemp -d /tmp/greenwave-pg.XXXXXX)
            ln -s "$REAL" "$DIR"
        else
            mkdir -p "$DIR"
        fi
        : >"$REAL/.greenwave-pg"
        LOG=$REAL/log
        : >"$LOG"
        if [ ${#AS[@]} -gt 0 ]; then
            chown postgres: "$REAL" "$LOG"
            chmod 755 "$REAL"
        fi
        as_owner initdb -D "$REAL/data" --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync ||
            as_owner initdb -D "$REAL/data" --auth=trust --encoding=UTF8 --no-sync ||
            fail "initdb failed (log: $LOG)"
        as_owner pg_ctl start -w -t 60 -D "$REAL/data" -l "$REAL/server.log" \
            -o "-c listen_addresses='' -k '$REAL'" ||
            { cat "$REAL/server.log" >>"$LOG" 2>/dev/null || true; fail "the server did not start"; }
        if [ ${#AS[@]} -gt 0 ] && [ "$ME" != postgres ]; then
            as_owner createuser -h "$REAL" -s "$ME" || fail "createuser $ME failed"
        fi
        as_owner createdb -h "$REAL" -O "$ME" greenwave || fail "createdb greenwave failed"
        ;;
    *)
        usage
        ;;
esac
