#!/usr/bin/env bash
# Packs what the GPU machine needs into .gpu/bundle.tar.xz (it has no Java and no network):
# a jlink'ed JRE, the library (CUDA build) and its runtime jars, the test classes with the JUnit
# console launcher, the benchmark classes, the CUDA test binaries and the golden set (whose
# generate.py the PyTorch anchors import). Builds all of it first: the library with CUDA
# (nvcc must be on PATH), installed so that the benchmarks module compiles against this tree.
# Then, on the GPU machine, from the repository root: bash benchmarks/gpu/device-run.sh
# (the run tool carries .gpu, which git ignores).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
stage="$root/.gpu/stage"
cd "$root"
command -v nvcc >/dev/null || { echo "bundle.sh: nvcc not found: the GPU bundle needs the CUDA build" >&2; exit 1; }
mvn -B -q -ntp -DskipTests -Dmaven.javadoc.skip=true -Dstarprompt.cuda=ON install
mvn -B -q -ntp -f benchmarks/pom.xml -DskipTests package
[ -x target/native-build/tests/cuda_parity ] || { echo "bundle.sh: no CUDA test binaries: was CUDA found?" >&2; exit 1; }
rm -rf "$root/.gpu" && mkdir -p "$stage/lib" "$stage/native"
mvn -B -q -ntp dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$stage/lib" \
    -Dstarprompt.cuda=ON >/dev/null
mvn -B -q -ntp dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 \
    -DoutputDirectory="$stage" >/dev/null
rm -f "$stage"/lib/junit-jupiter* "$stage"/lib/junit-platform* "$stage"/lib/opentest4j* "$stage"/lib/apiguardian*
cp -r target/classes "$stage/classes"
cp -r target/test-classes "$stage/test-classes"
cp -r benchmarks/target/classes "$stage/bench-classes"
cp target/native-build/libstarprompt.so target/native-build/tests/cuda_parity target/native-build/tests/cuda_bench "$stage/native/"
cp -r src/test/resources/golden "$stage/golden"
jlink --add-modules java.base,java.logging,java.management,jdk.management,java.sql,jdk.unsupported --strip-debug \
    --no-header-files --no-man-pages --compress=2 --output "$stage/jre"
tar -C "$stage" -cJf "$root/.gpu/bundle.tar.xz" .
rm -rf "$stage"
du -sh "$root/.gpu/bundle.tar.xz"
