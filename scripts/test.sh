#!/usr/bin/env bash
# The whole test suite: what the README's quick start and CI run. Installs nothing today: the
# core, the store (SQLCipher is compiled in, with a vendored OpenSSL) and the command line need
# only the Rust toolchain and a C compiler. Later milestones add their tools here, idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo cc; do
    command -v "$tool" >/dev/null || { echo "scripts/test.sh: $tool is required" >&2; exit 1; }
done

# One profile (dev, dependencies at opt-level 1) and one target directory for everything.
cargo test --workspace --locked "$@"
