#!/usr/bin/env bash
# Runs on the GPU machine from the repository root: CUDA parity and timing harness, the JUnit
# op-parity test on the CUDA backend, and the PyTorch anchors on the same card. Results go to $OUT.
# KERNELS=0, MODEL_ANCHORS=0, ANCHORS=0 skip those parts.
set -uo pipefail
export LD_LIBRARY_PATH=/usr/local/cuda-13.0/targets/x86_64-linux/lib:/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
work=/tmp/sp && rm -rf $work && mkdir -p $work && tar -C $work -xJf .gpu/bundle.tar.xz
export LD_LIBRARY_PATH=$work/native:$LD_LIBRARY_PATH
nvidia-smi -L | tee $OUT/device.txt
if [ "${KERNELS:-1}" = 1 ]; then
  (cd $work/native && timeout 90 ./cuda_parity) > $OUT/cuda_parity.txt 2>&1; echo "cuda_parity rc=$?"
  tail -3 $OUT/cuda_parity.txt
  (cd $work/native && timeout 60 ./cuda_bench) > $OUT/cuda_bench.txt 2>&1; echo "cuda_bench rc=$?"
  tail -30 $OUT/cuda_bench.txt
fi
cp_all="$work/classes:$work/test-classes:$(ls $work/lib/*.jar | tr '\n' ':')"
timeout 150 $work/jre/bin/java -Dstarprompt.golden.dir=$work/golden -Dstarprompt.test.backend=cuda -jar $work/junit-platform-console-standalone-*.jar \
   execute --class-path "$cp_all" --scan-class-path "$work/test-classes" --details=summary --disable-banner \
   > $OUT/junit.txt 2>&1; echo "junit rc=$?"
grep -E "tests (successful|failed|aborted)|✘" $OUT/junit.txt | head -40; tail -25 $OUT/junit.txt
if [ -d $work/bench-classes ]; then
  timeout 150 $work/jre/bin/java -Xmx16g -cp "$work/bench-classes:$cp_all" io.starprompt.bench.ModelTiming cuda 128 5 \
    > $OUT/model_timing.txt 2>&1; echo "model timing rc=$?"; cat $OUT/model_timing.txt | tail -5
fi
if [ "${MODEL_ANCHORS:-1}" = 1 ]; then
  timeout 120 python3 benchmarks/gpu/anchors_models.py $work/golden > $OUT/anchors_models.json 2> $OUT/anchors_models.err
  echo "model anchors rc=$?"; cat $OUT/anchors_models.json
fi
if [ "${ANCHORS:-1}" = 1 ]; then
  timeout 90 python3 benchmarks/gpu/anchors.py $work/golden > $OUT/anchors.json 2> $OUT/anchors.err; echo "anchors rc=$?"
  cat $OUT/anchors.json
fi
