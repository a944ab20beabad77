#!/usr/bin/env bash
# Runs on the GPU machine from the repository root, as one device call (worst case about 8
# minutes: every part has its own timeout). Results go to $OUT; the last thing printed is the
# table of benchmarks/README.md "The prepared GPU call".
#  1. unpack .gpu/bundle.tar.xz (made by bundle.sh here: the machine has no Java and no network);
#  2. cuda_parity: every CUDA kernel against the CPU kernel, the f32 / bf16 storage forms included
#     (before anything is timed: a failure here makes the timings below meaningless);
#  3. JUnit on the CUDA backend: OpParityTest (every op, f32 and the bf16 forms), the bf16 golden
#     tests of the ViT and CLIP towers, NativeBoundaryTest;
#  4. io.starprompt.bench.ModelTiming: the second-stage step and inference at B = 128, fp32 and bf16;
#  5. anchors_stage2.py: the same work in PyTorch (fp32, and bf16 autocast) on the same card;
#  6. table.py: ours fp32, ours bf16, PyTorch, the ratio, peak memory.
# Switches: PARITY=0, JUNIT=0, TIMING=0, ANCHORS=0 skip those parts; BENCH=1 adds cuda_bench
# (the kernel-level CUDA-event harness, about a minute).
set -uo pipefail
export LD_LIBRARY_PATH=/usr/local/cuda-13.0/targets/x86_64-linux/lib:/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
work=/tmp/sp && rm -rf $work && mkdir -p $work && tar -C $work -xJf .gpu/bundle.tar.xz
export LD_LIBRARY_PATH=$work/native:$LD_LIBRARY_PATH
nvidia-smi -L | tee $OUT/device.txt
part() { echo "== $1: rc=$2 ($(date +%T))"; }

if [ "${PARITY:-1}" = 1 ]; then
  (cd $work/native && timeout 60 ./cuda_parity) > $OUT/cuda_parity.txt 2>&1; part cuda_parity $?
  grep -E "^FAIL" $OUT/cuda_parity.txt | head -20; tail -1 $OUT/cuda_parity.txt
fi
if [ "${BENCH:-0}" = 1 ]; then
  (cd $work/native && timeout 60 ./cuda_bench) > $OUT/cuda_bench.txt 2>&1; part cuda_bench $?
  tail -30 $OUT/cuda_bench.txt
fi
cp_all="$work/classes:$work/test-classes:$(ls $work/lib/*.jar | tr '\n' ':')"
if [ "${JUNIT:-1}" = 1 ]; then
  timeout 150 $work/jre/bin/java -Dstarprompt.golden.dir=$work/golden -Dstarprompt.test.backend=cuda \
    -jar $work/junit-platform-console-standalone-*.jar execute --class-path "$cp_all" --disable-banner \
    --details=summary --select-class io.starprompt.backend.OpParityTest \
    --select-class io.starprompt.backend.NativeBoundaryTest \
    --select-class io.starprompt.model.vit.VisionTransformerBf16GoldenTest \
    --select-class io.starprompt.model.clip.ClipBf16GoldenTest > $OUT/junit.txt 2>&1; part junit $?
  grep -E "tests (successful|failed|aborted|skipped)|✘" $OUT/junit.txt | head -40
fi
if [ "${TIMING:-1}" = 1 ]; then
  timeout 150 $work/jre/bin/java -Xmx24g -cp "$work/bench-classes:$cp_all" io.starprompt.bench.ModelTiming \
    cuda 128 5 base fp32,bf16 > $OUT/model_timing.txt 2>&1; part model_timing $?
  grep -v "^RESULT" $OUT/model_timing.txt | tail -8
fi
if [ "${ANCHORS:-1}" = 1 ]; then
  timeout 100 python3 benchmarks/gpu/anchors_stage2.py $work/golden > $OUT/anchors_stage2.json \
    2> $OUT/anchors_stage2.err; part anchors_stage2 $?
  tail -3 $OUT/anchors_stage2.err
fi
python3 benchmarks/gpu/table.py $OUT/model_timing.txt $OUT/anchors_stage2.json | tee $OUT/table.md
