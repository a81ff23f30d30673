#!/usr/bin/env bash
# The whole test suite: what the README's quick start and CI run. Installs what is missing first
# (scripts/setup.sh), then runs every Rust test of the workspace in one profile and one target
# directory (dev, dependencies at opt-level 1), then the dashboard's browser tests against the
# binaries those tests built, while the generated Python and Kotlin bindings are tested.
# The relay's tests on PostgreSQL use a throwaway cluster started here (scripts/postgres.sh) in a
# temporary folder, stopped and removed when this script ends, failed or not; one named by
# ALLERVERS_TEST_POSTGRES (a URL) in the environment is used instead, and left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_dir=""
browser=""
browser_log=""
# Whichever way this script ends: the browser tests stop, and the cluster started here too.
cleanup() {
    # The browser tests run in a session of their own: their dashboards, relay and browser stop
    # with them.
    if [ -n "$browser" ]; then kill -- -"$browser" 2>/dev/null || true; fi
    if [ -n "$browser_log" ]; then rm -f "$browser_log"; fi
    if [ -n "$pg_dir" ]; then
        scripts/postgres.sh stop "$pg_dir" || true
        rm -rf "$pg_dir"
    fi
}
trap cleanup EXIT
scripts/setup.sh
if [ -z "${ALLERVERS_TEST_POSTGRES:-}" ]; then
    pg_dir=$(mktemp -d)
    ALLERVERS_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir")
    # The tests never stop this cluster: those that crash PostgreSQL start their own.
    export ALLERVERS_TEST_POSTGRES
fi
# The bindings' generator is not built here: its output is committed (scripts/bindings.sh).
cargo test --workspace --exclude allervers-bindgen --locked "$@"
# The browser tests (both files at once) wait on the dashboards, the relay and the browser more
# than they compute: they run while the bindings are generated and tested, their output kept
# and printed once they end, failed or not.
browser_log=$(mktemp)
ALLERVERS_BIN="$PWD/target/debug/allervers" setsid node --test --test-concurrency=2 tests/browser/ \
    >"$browser_log" 2>&1 &
browser=$!
scripts/bindings.sh
python3 bindings/tests/test_python.py
scripts/test-kotlin.sh
browser_status=0
wait "$browser" || browser_status=$?
browser=""
cat "$browser_log"
[ "$browser_status" -eq 0 ] || { echo "the browser tests failed" >&2; exit 1; }
# No Swift toolchain can be installed here: check that the Swift bindings are there.
for f in allervers_ffi.swift allervers_ffiFFI.h allervers_ffiFFI.modulemap; do
    [ -s "build/bindings/swift/$f" ] || { echo "Swift bindings missing: $f" >&2; exit 1; }
done
echo "Swift bindings staged: build/bindings/swift"
