package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Whole-model timings for the GPU machine (not JMH: one device call, wall clock around a
 * stream synchronise, median of the runs): ViT-B/16 with residual prompts in all 12 layers,
 * forward + backward to the prompts (PyTorch anchor: 225.7 ms fp32 on an H200 at B = 128), and
 * the CLIP ViT-L/14 image tower forward (478 ms). Random weights in the real layouts.
 *
 * <pre>java -cp ... io.starprompt.bench.ModelTiming [backend=cuda] [batch=128] [runs=5]</pre>
 */
public final class ModelTiming {
    private ModelTiming() {}

    public static void main(String[] args) throws Exception {
        String backendName = args.length > 0 ? args[0] : "cuda";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Path dir = Files.createTempDirectory("starprompt-timing");
        try (Backend be = Backends.create(backendName)) {
            vit(be, dir, batch, runs);
            clip(be, dir, batch, runs);
        }
    }

    private static void vit(Backend be, Path dir, int batch, int runs) throws Exception {
        Path weights = dir.resolve("vit_b16.safetensors");
        RandomCheckpoints.writeVit(weights, new RandomCheckpoints.Tower(224, 16, 768, 12, 12), 1);
        try (VisionTransformer vit = VisionTransformer.load(be, weights, 12); TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(2);
            Tensor images = be.fromArray(Bench.uniform(rnd, batch * 3 * 224 * 224), batch, 3, 224, 224);
            List<Tensor> prompts = new ArrayList<>();
            for (int l = 0; l < 12; l++) prompts.add(be.fromArray(Bench.uniform(rnd, batch * 768), batch, 768));
            Tensor dPooled = be.fromArray(Bench.uniform(rnd, batch * 768), batch, 768);
            report("ViT-B/16 residual prompts, forward", batch, time(be, runs, () -> {
                try (TensorScope s = TensorScope.open()) {
                    vit.encodePooled(images, Prompts.residual(prompts));
                }
            }));
            report("ViT-B/16 residual prompts, forward + backward to prompts", batch, time(be, runs, () -> {
                try (TensorScope s = TensorScope.open();
                        Activations act = vit.forwardPooled(images, Prompts.residual(prompts));
                        PromptGradients g = vit.backwardPooled(act, dPooled, false)) {
                    g.residual(0);
                }
            }));
        }
        Files.delete(weights);
    }

    private static void clip(Backend be, Path dir, int batch, int runs) throws Exception {
        Path weights = dir.resolve("clip_l14.safetensors"), config = dir.resolve("config.json");
        RandomCheckpoints.writeClip(weights, config, new RandomCheckpoints.Tower(224, 14, 1024, 24, 16), 100, 64, 1, 4,
                768, 3);
        try (Clip clip = Clip.load(be, weights, config); TensorScope scope = TensorScope.open()) {
            Tensor pixels = be.fromArray(Bench.uniform(new Random(4), batch * 3 * 224 * 224), batch, 3, 224, 224);
            report("CLIP ViT-L/14 image tower, forward", batch, time(be, runs, () -> {
                try (TensorScope s = TensorScope.open()) {
                    clip.imageFeatures(pixels);
                }
            }));
        }
        Files.delete(weights);
        Files.delete(config);
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

    private static void report(String what, int batch, double[] ms) {
        System.out.printf("%-58s B=%d  median %.1f ms  (min %.1f, max %.1f, %d runs)%n", what, batch, ms[ms.length / 2],
                ms[0], ms[ms.length - 1], ms.length);
    }
}
