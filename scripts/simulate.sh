#!/usr/bin/env bash
# The deterministic simulation of many devices and a relay (tests/src/sim.rs).
#   scripts/simulate.sh [--schedules N] [--seed S] [--minutes M] [--min N]
# Runs up to N seeded schedules (default 1,000) from seed S (decimal or 0x-hex), stopping after
# M minutes once at least --min schedules ran; ends with "N schedules, D divergent, L lost".
# A failure prints its seed and the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same targets and features as the test command, so that after it this builds nothing.
cargo build --locked --workspace --exclude allervers-bindgen --lib --bins --tests --quiet
exec target/debug/simulate "$@"
