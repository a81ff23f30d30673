#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the relay's tests, entirely inside one folder:
#   scripts/postgres.sh start DIR              # prints postgres://allervers@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR [immediate]   # fast shutdown (or immediate: a crash, for tests)
# `start` creates the cluster on its first call (initdb: superuser `allervers`, trust
# authentication, which is acceptable only because it listens on 127.0.0.1 alone and lives as
# long as a test run), on a free loopback port, with its unix socket in DIR; a later `start` on
# the same DIR starts it again on the same port. `stop` does nothing when nothing runs.
# fsync stays on: the tests check that what the relay acknowledged survives a crash.
# Uses Debian's server binaries (/usr/lib/postgresql/<version>/bin; scripts/setup.sh installs
# them). initdb and the server refuse to run as root: as root, DIR is given to the `postgres`
# user and every command runs through runuser (DIR's parent must let that user through: /tmp
# does).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR | stop DIR [immediate]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
command=$1
dir=$2
mode=${3:-fast}
case "$mode" in fast | immediate) ;; *) usage ;; esac

initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1 || true)
if [ -z "$initdb" ]; then
    echo "postgres.sh: no /usr/lib/postgresql/*/bin/initdb: run scripts/setup.sh" >&2
    exit 1
fi
bin=$(dirname "$initdb")

as=()
if [ "$(id -u)" = 0 ]; then
    as=(runuser -u postgres --)
fi

case "$command" in
start)
    mkdir -p "$dir"
    dir=$(realpath "$dir")
    data=$dir/data
    # The server's user must not be asked to change into a folder it cannot read.
    cd "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$dir/socket"
        if [ "$(id -u)" = 0 ]; then
            chown -R postgres:postgres "$dir"
        fi
        "${as[@]}" "$bin/initdb" -D "$data" -U allervers --auth=trust -E UTF8 --locale=C \
            --no-instructions >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
        cat >>"$data/postgresql.conf" <<EOF

# scripts/postgres.sh: a throwaway cluster for tests.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/socket'
max_connections = 200
shared_buffers = 32MB
fsync = on
logging_collector = off
include_if_exists = 'port.conf'
EOF
    fi
    # A free port is picked (and kept in port.conf, so that a restart keeps the address); another
    # process may take it between the pick and the bind: then another one is tried.
    for attempt in 1 2 3 4 5; do
        if [ ! -f "$data/port.conf" ]; then
            port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
            echo "port = $port" | "${as[@]}" tee "$data/port.conf" >/dev/null
        fi
        port=$(sed -n 's/^port = //p' "$data/port.conf")
        if "${as[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
            break
        fi
        if "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
            break
        fi
        if [ "$attempt" = 5 ] || ! tail -n 20 "$dir/server.log" | grep -q 'could not bind'; then
            tail -n 20 "$dir/server.log" >&2
            exit 1
        fi
        rm -f "$data/port.conf"
    done
    echo "postgres://allervers@127.0.0.1:$port/postgres"
    ;;
stop)
    [ -d "$dir/data" ] || exit 0
    cd "$dir"
    if "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null
    fi
    ;;
*) usage ;;
esac
