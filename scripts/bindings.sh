#!/usr/bin/env bash
# Builds the allervers-ffi library and generates its Kotlin, Swift and Python bindings into
# build/bindings/{kotlin,swift,python} (generated code is not committed). The generator is the
# workspace's own uniffi-bindgen, so it always matches the runtime.
#   scripts/bindings.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
args=()
if [ "${1:-}" = "--release" ]; then
    profile=release
    args=(--release)
fi
cargo build -p allervers-ffi --lib --bin uniffi-bindgen "${args[@]}"
lib="target/$profile/liballervers_ffi.so"
[ -f "$lib" ] || lib="target/$profile/liballervers_ffi.dylib"
out=build/bindings
rm -rf "$out"
for language in kotlin swift python; do
    "target/$profile/uniffi-bindgen" generate --library "$lib" --language "$language" --out-dir "$out/$language" >/dev/null
done
cp "$lib" "$out/python/"
echo "bindings generated in $out (kotlin, swift, python) from $lib"
