package io.starprompt.bench;

import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The profiler's cost on the CPU backend, off and recording: a tiny op (16 floats, where any
 * per-op cost shows) and a prompted forward + backward of a small ViT (32 px, 2 layers of width
 * 64, batch 2: 60 ops, all small). "on" starts the profiler once per iteration, so the recording
 * never grows past one iteration's calls.
 */
public class ProfilerBenchmark extends OpCostBenchmark {
    @Param({"off", "on"})
    public String profiler;

    private Tensor images, dPooled;
    private List<Tensor> prompts;
    private VisionTransformer vit;
    private Path dir;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Random rnd = new Random(1);
        open("cpu", rnd);
        RandomCheckpoints.Tower tower = new RandomCheckpoints.Tower(32, 8, 64, 2, 4);
        dir = Files.createTempDirectory("starprompt-jmh");
        RandomCheckpoints.writeVit(dir.resolve("vit.safetensors"), tower, 1);
        vit = VisionTransformer.load(be, dir.resolve("vit.safetensors"), tower.heads());
        images = be.fromArray(Bench.uniform(rnd, 2 * 3 * 32 * 32), 2, 3, 32, 32);
        prompts = new ArrayList<>();
        for (int l = 0; l < tower.depth(); l++) prompts.add(be.fromArray(Bench.uniform(rnd, 2 * 64), 2, 64));
        dPooled = be.fromArray(Bench.uniform(rnd, 2 * 64), 2, 64);
    }

    /** "on": a fresh recording per iteration (its events are kept until the next start). */
    @Setup(Level.Iteration)
    public void startProfiler() {
        if (profiler.equals("on")) be.profiler().start();
    }

    @TearDown(Level.Iteration)
    public void stopProfiler() {
        if (profiler.equals("on")) be.profiler().stop();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        vit.close();
        for (Tensor t : new Tensor[] {x16, y16, images, dPooled}) t.close();
        prompts.forEach(Tensor::close);
        be.close();
        Files.deleteIfExists(dir.resolve("vit.safetensors"));
        Files.deleteIfExists(dir);
    }

    /** Prompted forward and backward to the prompts of the small ViT. */
    @Benchmark
    public Tensor vitStep() {
        try (TensorScope step = TensorScope.open();
                Activations act = vit.forwardPooled(images, Prompts.residual(prompts));
                PromptGradients grads = vit.backwardPooled(act, dPooled, false)) {
            return grads.residual(0);
        }
    }
}
