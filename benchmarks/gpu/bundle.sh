#!/usr/bin/env bash
# Packs what the GPU machine needs into .gpu/bundle.tar.xz (it has no Java and no network):
# a jlink'ed JRE, the library and its runtime jars, the test classes with the JUnit console
# launcher, the CUDA test binaries, the golden set and the PyTorch anchor script.
# Run after `mvn -B -ntp -DskipTests install` and `mvn -f benchmarks/pom.xml package` (nvcc present).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
stage="$root/.gpu/stage"
rm -rf "$root/.gpu" && mkdir -p "$stage/lib" "$stage/native"
cd "$root"
mvn -B -q -ntp test-compile dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$stage/lib" \
    -Dstarprompt.cuda=ON >/dev/null
mvn -B -q -ntp dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 \
    -DoutputDirectory="$stage" >/dev/null
rm -f "$stage"/lib/junit-jupiter* "$stage"/lib/junit-platform* "$stage"/lib/opentest4j* "$stage"/lib/apiguardian*
cp -r target/classes "$stage/classes"
cp -r target/test-classes "$stage/test-classes"
[ -d benchmarks/target/classes ] && cp -r benchmarks/target/classes "$stage/bench-classes"
cp target/native-build/libstarprompt.so target/native-build/tests/cuda_parity target/native-build/tests/cuda_bench "$stage/native/"
cp -r src/test/resources/golden "$stage/golden"
jlink --add-modules java.base,java.logging,java.management,jdk.management,java.sql,jdk.unsupported --strip-debug \
    --no-header-files --no-man-pages --compress=2 --output "$stage/jre"
tar -C "$stage" -cJf "$root/.gpu/bundle.tar.xz" .
rm -rf "$stage"
cp "$root/benchmarks/gpu/device-run.sh" "$root/.gpu/"
du -sh "$root/.gpu/bundle.tar.xz"
