#!/usr/bin/env bash
# On macOS with Xcode: builds liballervers_ffi for iOS devices and simulators, packs them into
# ios/build/AllerversFFI.xcframework, and generates the Swift bindings into ios/Generated/.
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#   ios/scripts/build-xcframework.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
    cargo build --release -p allervers-ffi --lib --target "$target"
done
out=ios/build
rm -rf "$out" ios/Generated && mkdir -p "$out/sim" ios/Generated
lipo -create target/aarch64-apple-ios-sim/release/liballervers_ffi.a target/x86_64-apple-ios/release/liballervers_ffi.a \
    -output "$out/sim/liballervers_ffi.a"
cargo run --release -p allervers-bindgen -- \
    target/aarch64-apple-ios/release/liballervers_ffi.a swift ios/Generated
# The C header and module map travel inside the framework; the Swift file joins the app target.
mkdir -p "$out/headers"
cp ios/Generated/allervers_ffiFFI.h "$out/headers/"
cp ios/Generated/allervers_ffiFFI.modulemap "$out/headers/module.modulemap"
xcodebuild -create-xcframework \
    -library target/aarch64-apple-ios/release/liballervers_ffi.a -headers "$out/headers" \
    -library "$out/sim/liballervers_ffi.a" -headers "$out/headers" \
    -output "$out/AllerversFFI.xcframework"
echo "ios/build/AllerversFFI.xcframework and ios/Generated/allervers_ffi.swift are ready"
