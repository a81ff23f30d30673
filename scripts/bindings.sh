#!/usr/bin/env bash
# Builds the allervers-ffi library and generates its Kotlin, Swift and Python bindings into
# build/bindings/{kotlin,swift,python} (generated code is not committed). The generator is the
# workspace's own uniffi-bindgen, so it always matches the runtime.
#   scripts/bindings.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--release" ]; then
    profile=release
    cargo build --release --locked -p allervers-ffi -p allervers-bindgen
else
    # The same targets and features as `cargo test --workspace`, so that after the tests this
    # builds nothing but the generator's binary (a build of these two packages alone resolves
    # other features and compiles a third of the workspace's dependencies again).
    profile=debug
    cargo build --locked --workspace --lib --bins --tests
fi
lib="target/$profile/liballervers_ffi.so"
[ -f "$lib" ] || lib="target/$profile/liballervers_ffi.dylib"
out=build/bindings
rm -rf "$out"
for language in kotlin swift python; do
    "target/$profile/uniffi-bindgen" "$lib" "$language" "$out/$language" >/dev/null
done
cp "$lib" "$out/python/"
echo "bindings generated in $out (kotlin, swift, python) from $lib"
