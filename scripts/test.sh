#!/usr/bin/env bash
# The whole test suite: what the README's quick start and CI run. Installs what is missing first
# (scripts/setup.sh), then runs every Rust test of the workspace in one profile and one target
# directory (dev, dependencies at opt-level 1), then the dashboard's browser test against the
# binary those tests built, then the tests of the generated Python and Kotlin bindings.
# The relay's tests on PostgreSQL use a throwaway cluster started here (scripts/postgres.sh) in a
# temporary folder, stopped and removed when this script ends, failed or not; one named by
# ALLERVERS_TEST_POSTGRES (a URL) in the environment is used instead, and left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${ALLERVERS_TEST_POSTGRES:-}" ]; then
    pg_dir=$(mktemp -d)
    trap 'scripts/postgres.sh stop "$pg_dir" || true; rm -rf "$pg_dir"' EXIT
    ALLERVERS_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir")
    # The tests never stop this cluster: those that crash PostgreSQL start their own.
    export ALLERVERS_TEST_POSTGRES
fi
cargo test --workspace --locked "$@"
ALLERVERS_BIN="$PWD/target/debug/allervers" node --test tests/browser/
scripts/bindings.sh
python3 bindings/tests/test_python.py
scripts/test-kotlin.sh
# No Swift toolchain can be installed here: check that the Swift bindings were generated.
for f in allervers_ffi.swift allervers_ffiFFI.h allervers_ffiFFI.modulemap; do
    [ -s "build/bindings/swift/$f" ] || { echo "Swift bindings missing: $f" >&2; exit 1; }
done
echo "Swift bindings generated: build/bindings/swift"

