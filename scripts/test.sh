#!/usr/bin/env bash
# The whole test suite: what the README's quick start and CI run. Installs what is missing first
# (scripts/setup.sh), then runs every Rust test of the workspace in one profile and one target
# directory (dev, dependencies at opt-level 1), then the dashboard's browser test against the
# binary those tests built, then the generated Python bindings' test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
ALLERVERS_BIN="$PWD/target/debug/allervers" node --test tests/browser/
scripts/bindings.sh
python3 bindings/tests/test_python.py
