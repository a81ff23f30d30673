#!/usr/bin/env bash
# Compiles the generated Kotlin bindings, the Android app's plain-Kotlin layer (android/logic)
# and a test program, and runs it on the JVM against the debug library through JNA (its night on
# two phones starts target/debug/allervers-relay on a loopback port). Needs scripts/bindings.sh to have run, Java, JNA (Debian's
# libjna-java) and a Kotlin 2.x compiler: the one carried by the PyPI wheel
# kotlin-jupyter-kernel, installed into .tools/kotlin by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
jars=.tools/kotlin/run_kotlin_kernel/jars
compiler=$(ls $jars/kotlin-jupyter-kernel-*-all.jar | head -1)
stdlib=$(ls $jars/kotlin-stdlib-*.jar | head -1)
jna=/usr/share/java/jna.jar
out=build/kotlin-test
rm -rf "$out" && mkdir -p "$out"
java -cp "$compiler" org.jetbrains.kotlin.cli.jvm.K2JVMCompiler -no-stdlib -no-reflect \
    -classpath "$stdlib:$jna" -d "$out" -nowarn \
    build/bindings/kotlin/uniffi/allervers_ffi/allervers_ffi.kt \
    android/logic/src/main/kotlin/org/allervers/logic/*.kt \
    bindings/tests/TestBindings.kt bindings/tests/TestRepository.kt bindings/tests/TestNight.kt
java -Djna.library.path="$PWD/target/debug" -cp "$out:$stdlib:$jna" TestBindingsKt
