#!/usr/bin/env bash
# Installs what building and testing allervers needs beyond a Rust toolchain, idempotently:
# - a C compiler and OpenSSL's headers (SQLCipher is compiled from source and, on desktops and
#   servers, links the system's libcrypto; phone builds compile their own OpenSSL);
# - for the dashboard's browser test: Debian's chromium, Node.js with npm, and playwright-core
#   from the npm registry (which never downloads a browser of its own);
# - for the Kotlin bindings' test: Java, JNA (Debian's libjna-java) and a Kotlin 2.x compiler,
#   taken from the PyPI wheel kotlin-jupyter-kernel into .tools/kotlin (Debian's kotlin is 1.3,
#   too old for uniffi's output);
# - for the relay's end-to-end tests on PostgreSQL: Debian's postgresql (its server binaries, in
#   /usr/lib/postgresql/<version>/bin, run a throwaway cluster: scripts/postgres.sh) and nginx
#   (run by the tests in the foreground, in front of several relay instances). We never use
#   their system services: none is started by the install (policy-rc.d), and the clusters and
#   nginx the tests run live in temporary folders on loopback ports.
# Does nothing for what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
[ -f /usr/include/openssl/crypto.h ] || missing+=(libssl-dev)
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v java >/dev/null || missing+=(default-jdk-headless)
[ -f /usr/share/java/jna.jar ] || missing+=(libjna-java)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
[ -x /usr/sbin/nginx ] || missing+=(nginx)

if ((${#missing[@]})); then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "setup: installing ${missing[*]}"
        # Installing postgresql or nginx would start their system services (a cluster on 5432,
        # a web server on 80): a policy-rc.d that refuses every start, for the time of the
        # install, unless the machine already has one (containers usually do).
        policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            policy=/usr/sbin/policy-rc.d
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod 755 "$policy"
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        if [ -n "$policy" ]; then
            rm -f "$policy"
            trap - EXIT
        fi
    else
        echo "setup: please install ${missing[*]}" >&2
        exit 1
    fi
fi

command -v cargo >/dev/null || {
    echo "setup: a Rust toolchain (cargo, rustc >= 1.90) is required: https://rustup.rs" >&2
    exit 1
}

# playwright-core, exactly as locked; skipped when already installed at that version.
wanted=$(node -p "require('./tests/browser/package.json').devDependencies['playwright-core']")
installed=$(node -p "require('./tests/browser/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$wanted" != "$installed" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi

# The Kotlin 2.x compiler, from PyPI, into the project's own tools folder.
if ! ls .tools/kotlin/run_kotlin_kernel/jars/kotlin-jupyter-kernel-*-all.jar >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check --target .tools/kotlin kotlin-jupyter-kernel
fi
