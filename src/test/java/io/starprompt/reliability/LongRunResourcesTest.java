package io.starprompt.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.method.starprompt.PromptedClassifier;
import io.starprompt.method.starprompt.PromptedTraining;
import io.starprompt.method.starprompt.SecondStageTrainer;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.TrainingListener;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long second-stage run (1 000 optimiser steps, each a CLIP image pass, a prompted ViT forward
 * and backward, the orthogonality loss and an Adam step) on the CPU backend with small random
 * checkpoints: resident memory, the Java heap in use and the backend's native memory must be the
 * same at step 1 000 as at step 100, once the first steps have warmed the caches up (±5 %). The
 * figures are printed.
 *
 * <p>The run has a JVM of its own, with a fixed, pre-touched heap: the test JVM's heap grows and
 * shrinks with everything else the suite does, which would swamp a 5 % figure, while a resident
 * heap of constant size leaves in the RSS what a long run could leak: native memory, code,
 * threads. Heap leaks show in the heap in use after a full collection. With C2 enabled the RSS
 * moved by up to ±4 % between the two samples from run to run on the same code (compiler arenas);
 * with C1 only it moves by under 1 %.
 */
class LongRunResourcesTest {
    private static final int STEPS = 1000, WARM = 100, CLASSES = 4, PER_CLASS = 8, BATCH = 4;
    private static final double TOLERANCE = 0.05;
    /**
     * A fixed, pre-touched heap (constant in the RSS), the quick compiler only (the optimising
     * compiler's working memory comes and goes by megabytes as it compiles, which is the JVM
     * warming up, not the library), library logs at warn.
     */
    private static final List<String> CHILD_JVM = List.of("-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch",
            "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");

    @TempDir
    Path dir;

    /** Resident memory, heap in use and native memory, after a full collection so that garbage does not count. */
    record Sample(long rssBytes, long heapBytes, long liveBytes, long cachedBytes, long systemAllocations) {
        static Sample of(Backend be) {
            System.gc();
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            Backend.MemoryStats m = be.memoryStats();
            return new Sample(residentBytes(), heap, m.liveBytes(), m.cachedBytes(), m.systemAllocations());
        }

        String line(int step) {
            return "sample " + step + " " + rssBytes + " " + heapBytes + " " + liveBytes + " " + cachedBytes + " "
                    + systemAllocations;
        }

        static Sample parse(String[] f) {
            return new Sample(Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]),
                    Long.parseLong(f[6]));
        }

        String describe() {
            return String.format("RSS %.1f MiB, heap in use %.2f MiB, native: %.2f MiB live, %.2f MiB cached, %d blocks"
                    + " from malloc", rssBytes / 1048576.0, heapBytes / 1048576.0, liveBytes / 1048576.0,
                    cachedBytes / 1048576.0, systemAllocations);
        }
    }

    /** VmRSS of /proc/self/status in bytes, or -1 where there is no /proc. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static float[] unitRows(int rows, int dim, long seed) {
        Random r = new Random(seed);
        float[] k = new float[rows * dim];
        for (int i = 0; i < rows; i++) {
            double n = 0;
            for (int j = 0; j < dim; j++) {
                k[i * dim + j] = (float) r.nextGaussian();
                n += k[i * dim + j] * k[i * dim + j];
            }
            for (int j = 0; j < dim; j++) k[i * dim + j] /= (float) Math.sqrt(n);
        }
        return k;
    }

    /**
     * The run itself, in the child JVM: prints one "sample" line at step 100 and at step 1 000 and
     * a "done" line with the step count and the last epoch's loss.
     *
     * @param args the directory for the checkpoints
     * @throws IOException if the checkpoints cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        RandomCheckpoints.Tower tower = new RandomCheckpoints.Tower(32, 8, 64, 2, 4);
        RandomCheckpoints.writeVit(dir.resolve("vit.safetensors"), tower, 3);
        RandomCheckpoints.writeClip(dir.resolve("clip.safetensors"), dir.resolve("config.json"), tower, 100, 48, 2, 4, 32, 4);
        int stepsPerEpoch = CLASSES * PER_CLASS / BATCH;
        StarPromptConfig cfg = StarPromptConfig.builder().epochs(STEPS / stepsPerEpoch)
                .set(StarPromptConfig::batchSize, BATCH).build();
        int[] steps = {0};
        try (Backend be = new CpuBackend();
                VisionTransformer vit = VisionTransformer.load(be, dir.resolve("vit.safetensors"), tower.heads());
                Clip clip = Clip.load(be, dir.resolve("clip.safetensors"), dir.resolve("config.json"));
                PromptedClassifier model = PromptedClassifier.initialised(vit, CLASSES, clip.config().projectionDim(),
                        cfg, 5);
                TensorScope scope = TensorScope.open()) {
            SyntheticTaskData data = SyntheticTaskData.builder().classes(CLASSES).tasks(1).trainPerClass(PER_CLASS)
                    .testPerClass(1).vitImageSize(vit.config().imageSize())
                    .clipImageSize(clip.config().vision().imageSize()).noise(0.3).seed(6).build();
            int d = clip.config().projectionDim();
            Tensor keys = be.fromArray(unitRows(CLASSES, d, 7), CLASSES, d);
            TrainingListener probe = new TrainingListener() {
                @Override
                public void step(Step s) {
                    steps[0]++;
                    if (steps[0] == WARM || steps[0] == STEPS) System.out.println(Sample.of(be).line(steps[0]));
                }
            };
            SecondStageTrainer trainer = new SecondStageTrainer(clip, model, cfg, 8).listener(probe);
            double last = Double.NaN;
            try (PromptedTraining session = trainer.beginTraining(0, 0, CLASSES)) {
                for (int e = 0; e < cfg.stage2().epochs(); e++) last = trainer.trainEpoch(session, 0, e, data, keys).meanLoss();
            }
            System.out.println("done " + steps[0] + " " + last);
        }
    }

    @Test
    void residentAndNativeMemoryStayFlatOverAThousandSteps() throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(CHILD_JVM);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LongRunResourcesTest.class.getName(),
                dir.toString()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> output = new ArrayList<>();
        try (var reader = child.inputReader(StandardCharsets.UTF_8)) {
            for (String line; (line = reader.readLine()) != null; ) output.add(line);
        }
        assertTrue(child.waitFor(5, TimeUnit.MINUTES), "the long run did not end");
        assertEquals(0, child.exitValue(), "the long run failed:\n" + String.join("\n", output));
        Map<Integer, Sample> samples = new LinkedHashMap<>();
        String done = null;
        for (String line : output) {
            String[] f = line.split(" ");
            if (f[0].equals("sample") && f.length == 7) samples.put(Integer.parseInt(f[1]), Sample.parse(f));
            if (f[0].equals("done")) done = line;
        }
        assertTrue(done != null && samples.containsKey(WARM) && samples.containsKey(STEPS), String.join("\n", output));
        String[] d = done.split(" ");
        assertEquals(STEPS, Integer.parseInt(d[1]), "optimiser steps");
        assertTrue(Double.isFinite(Double.parseDouble(d[2])), "training diverged: " + done);

        Sample a = samples.get(WARM), b = samples.get(STEPS);
        System.out.println("resources: step " + WARM + ": " + a.describe());
        System.out.println("resources: step " + STEPS + ": " + b.describe());
        if (a.rssBytes() > 0) {
            double change = (b.rssBytes() - a.rssBytes()) / (double) a.rssBytes();
            System.out.printf("resources: RSS change from step %d to step %d: %+.2f %%%n", WARM, STEPS, 100 * change);
            assertTrue(Math.abs(change) <= TOLERANCE, String.format("resident memory changed by %+.1f %%: %s -> %s",
                    100 * change, a.describe(), b.describe()));
        }
        // The heap in use is a few MiB, so 5 % of it is within the noise of class metadata; a leak of a
        // few hundred bytes per step still exceeds the 256 KiB floor.
        assertTrue(Math.abs(b.heapBytes() - a.heapBytes()) <= Math.max(TOLERANCE * a.heapBytes(), 256 << 10),
                "heap in use after a full collection: " + a.describe() + " -> " + b.describe());
        assertEquals(a.liveBytes(), b.liveBytes(), "bytes held by open tensors between steps");
        long heldA = a.liveBytes() + a.cachedBytes(), heldB = b.liveBytes() + b.cachedBytes();
        assertTrue(Math.abs(heldB - heldA) <= TOLERANCE * heldA, "native memory held: " + heldA + " -> " + heldB);
        assertEquals(a.systemAllocations(), b.systemAllocations(), "no new native blocks after warm-up");
    }
}
