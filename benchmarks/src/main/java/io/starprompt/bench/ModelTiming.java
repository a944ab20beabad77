package io.starprompt.bench;

import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.backend.HostBackend;
import io.starprompt.backend.cuda.CudaBackend;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.method.common.Adam;
import io.starprompt.method.starprompt.PromptedClassifier;
import io.starprompt.method.starprompt.SecondStage;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.Precision;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Whole-model timings for the GPU machine (not JMH: one device call, wall clock around a
 * stream synchronise, median of the runs), once per precision of the frozen towers:
 * <ul>
 *   <li>the STAR-Prompt second-stage step: the CLIP image tower's queries, retrieval of the
 *       residual prompts in every layer, the prompted ViT forward and backward to the prompts,
 *       the head and its loss, the orthogonality term and one Adam step;</li>
 *   <li>inference: the CLIP queries, retrieval and the prompted ViT forward with the head.</li>
 * </ul>
 * Sizes {@code base}: CLIP ViT-L/14 (the query) and ViT-B/16 at 224 px, 100 classes of which 90
 * past (the last task of a 10-task split), the layout of {@code benchmarks/gpu/anchors_stage2.py}.
 * {@code tiny}: 32 px towers of width 64, for a check of the code paths on a CPU. Random weights
 * in the real layouts. Peak memory is what the backend's caching allocator held from the device
 * (live plus cached bytes, the cache emptied before each measurement, so it only grows during
 * one); memory that the native kernels and cuBLAS take for themselves is not in it.
 *
 * <p>Every result is also printed as one {@code RESULT|work|precision|median ms|peak MiB} line
 * for {@code benchmarks/gpu/table.py}.
 *
 * <pre>java -cp ... io.starprompt.bench.ModelTiming [backend=cuda] [batch=128] [runs=5] [size=base|tiny]
 *     [precisions=fp32,bf16]</pre>
 */
public final class ModelTiming {
    private static final int CLASSES = 100, PAST = 90;

    private ModelTiming() {}

    /** The towers of one size: the ViT, CLIP's image tower and CLIP's projection width. */
    private record Sizes(RandomCheckpoints.Tower vit, RandomCheckpoints.Tower clip, int projection) {
        static Sizes of(String name) {
            return switch (name) {
                case "base" -> new Sizes(new RandomCheckpoints.Tower(224, 16, 768, 12, 12),
                        new RandomCheckpoints.Tower(224, 14, 1024, 24, 16), 768);
                case "tiny" -> new Sizes(new RandomCheckpoints.Tower(32, 16, 64, 2, 2),
                        new RandomCheckpoints.Tower(32, 16, 64, 2, 2), 32);
                default -> throw new IllegalArgumentException("size '" + name + "': expected base or tiny");
            };
        }
    }

    /**
     * Runs the timings and prints one line per (work, precision).
     *
     * @param args backend, batch, runs, size, comma-separated precisions (all optional, in that order)
     * @throws Exception when the checkpoints cannot be written or loaded
     */
    public static void main(String[] args) throws Exception {
        String backendName = args.length > 0 ? args[0] : "cuda";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Sizes sizes = Sizes.of(args.length > 3 ? args[3] : "base");
        List<Precision> precisions = new ArrayList<>();
        for (String p : (args.length > 4 ? args[4] : "fp32,bf16").split(",")) precisions.add(Precision.parse(p.trim()));
        Path dir = Files.createTempDirectory("starprompt-timing");
        Path vitFile = dir.resolve("vit.safetensors"), clipFile = dir.resolve("clip.safetensors");
        Path clipConfig = dir.resolve("config.json");
        try (Backend be = Backends.create(backendName)) {
            RandomCheckpoints.writeVit(vitFile, sizes.vit(), 1);
            RandomCheckpoints.writeClip(clipFile, clipConfig, sizes.clip(), 100, 64, 1, 4, sizes.projection(), 3);
            System.out.printf(Locale.ROOT, "ModelTiming on %s: batch %d, median of %d runs, ViT %s, CLIP image tower %s,"
                    + " %d classes (%d past)%n", be, batch, runs, sizes.vit(), sizes.clip(), CLASSES, PAST);
            for (Precision precision : precisions) {
                timePrecision(be, vitFile, clipFile, clipConfig, sizes, precision, batch, runs);
            }
        } finally {
            for (Path p : List.of(vitFile, clipFile, clipConfig, dir)) Files.deleteIfExists(p);
        }
    }

    private static void timePrecision(Backend be, Path vitFile, Path clipFile, Path clipConfig, Sizes sizes,
            Precision precision, int batch, int runs) throws Exception {
        StarPromptConfig cfg = StarPromptConfig.builder().build();
        SecondStage.ClassRange range = SecondStage.ClassRange.training(PAST, CLASSES);
        try (VisionTransformer vit = VisionTransformer.load(be, vitFile, sizes.vit().heads(), precision);
                Clip clip = Clip.load(be, clipFile, clipConfig, precision);
                PromptedClassifier model = PromptedClassifier.initialised(vit, CLASSES, sizes.projection(), cfg, 3);
                Adam adam = new Adam(be, model.parameters(), new AdamConfig(cfg.stage2().lr(), 0.9f, 0.999f, 1e-8f, 0f));
                TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(4);
            int s = sizes.vit().imageSize(), cs = sizes.clip().imageSize();
            Tensor images = be.fromArray(Bench.uniform(rnd, batch * 3 * s * s), batch, 3, s, s);
            Tensor pixels = clip.pixels(Bench.uniform(rnd, batch * 3 * cs * cs), batch);
            Tensor keys = be.fromArray(Bench.unitRows(rnd, CLASSES, sizes.projection()), CLASSES, sizes.projection());
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) labels[i] = PAST + i % (CLASSES - PAST);
            measure(be, "stage-2 step", precision, batch, runs, () -> {
                try (TensorScope step = TensorScope.open();
                        SecondStage.Result r = model.lossAndGradients(images, clip.imageFeatures(pixels), keys, labels,
                                range)) {
                    model.addOrthogonalityLoss(range.seen(), range.past(), cfg.stage2().lambdaOrtho(), r.dPrompts());
                    adam.step(List.of(r.dModulation(), r.dPrompts(), r.dHeadWeight(), r.dHeadBias()), cfg.stage2().lr());
                }
            });
            measure(be, "inference", precision, batch, runs, () -> {
                try (TensorScope step = TensorScope.open()) {
                    model.logits(images, clip.imageFeatures(pixels), keys, CLASSES);
                }
            });
        }
    }

    /** Times the work and prints its line; peak memory counts from an emptied cache. */
    private static void measure(Backend be, String work, Precision precision, int batch, int runs, Runnable body) {
        releaseCache(be);
        double[] ms = time(be, runs, body);
        Backend.MemoryStats m = be.memoryStats();
        double peakMiB = m.liveBytes() < 0 ? Double.NaN : (m.liveBytes() + m.cachedBytes()) / (1024.0 * 1024.0);
        double median = ms[ms.length / 2];
        System.out.printf(Locale.ROOT, "%-14s %-5s B=%d  median %.1f ms  (min %.1f, max %.1f, %d runs)  peak %.0f MiB%n",
                work, precision, batch, median, ms[0], ms[ms.length - 1], ms.length, peakMiB);
        System.out.printf(Locale.ROOT, "RESULT|%s|%s|%.2f|%.0f%n", work, precision, median, peakMiB);
    }

    private static void releaseCache(Backend be) {
        be.synchronize();
        if (be instanceof CudaBackend cuda) cuda.releaseCachedMemory();
        else if (be instanceof HostBackend host) host.releaseCachedMemory();
    }

    private static double[] time(Backend be, int runs, Runnable work) {
        work.run();
        be.synchronize();
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            work.run();
            be.synchronize();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }
}
