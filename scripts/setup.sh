#!/usr/bin/env bash
# Installs what building and testing allervers needs beyond a Rust toolchain, idempotently:
# a C compiler, make and perl (SQLCipher and its vendored OpenSSL are compiled from source).
# Does nothing when everything is already there.
set -euo pipefail

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v perl >/dev/null || missing+=(perl)

if ((${#missing[@]})); then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "setup: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "setup: please install ${missing[*]} (a C compiler, make, perl)" >&2
        exit 1
    fi
fi

command -v cargo >/dev/null || {
    echo "setup: a Rust toolchain (cargo, rustc >= 1.90) is required: https://rustup.rs" >&2
    exit 1
}
