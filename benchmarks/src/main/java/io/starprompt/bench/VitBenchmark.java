package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.model.Precision;
import io.starprompt.model.safetensors.SafetensorsWriter;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The whole ViT-B/16 at real size (224 px, patch 16, width 768, depth 12, 12 heads, MLP 3072) on
 * the {@code cpu} backend with random weights in the timm layout, B = 4:
 * <ul>
 *   <li>{@link #forward}: {@code encodePooled} without prompts;</li>
 *   <li>{@link #forwardResidual}: {@code encodePooled} with residual prompts in all 12 layers;</li>
 *   <li>{@link #forwardTrain}: {@code forwardPooled} with residual prompts (keeps the activations);</li>
 *   <li>{@link #forwardBackward}: {@code forwardPooled} + {@code backwardPooled} from a random
 *       upstream gradient on the pooled feature to the residual prompts of all 12 layers (frozen
 *       weights: no weight gradients, no image gradient);</li>
 *   <li>{@link #openblasSgemm}: OpenBLAS sgemm called directly on a 788×768·768ᵀ product (the
 *       shape of the ViT's projection at B = 4), the baseline rate of the same run.</li>
 * </ul>
 *
 * <p>FLOP count of the forward: the figure is <b>17.6 GFLOP per image</b>, so
 * GFLOP/s = 4 · 17.6 / seconds. That figure (timm / fvcore's "FLOPs") counts a multiply-add as
 * one operation; counted like the sgemm rate (2·m·n·k, a multiply-add = 2) the forward is
 * 2 · (12 · 197 · 768 · 9216 + 12 · 2 · 197² · 768 + 196 · 768²) = 35.1 GFLOP per image (34.9 in
 * the blocks, 0.23 in the patch embedding; the CLS-only last block of a pooled pass saves
 * 2.4 of it). Ratios to sgemm are therefore taken with 2 · 17.6 = 35.2 GFLOP per image.
 *
 * <p>{@code @Param precision} runs the model benchmarks with the tower loaded in fp32 or bf16
 * ({@link Precision}; bf16 weights and activations, f32 accumulation) in the same run.
 *
 * <p>Targets (issue): forward ≥ 50 % of the sgemm rate; forward + backward ≤ 2.5× the forward.
 * The weights (86 M parameters, 344 MB) are written to a temporary safetensors file at setup and
 * deleted at teardown.
 */
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class VitBenchmark extends CpuBenchmark {
    static final int B = 4, IMAGE = 224, PATCH = 16, W = 768, DEPTH = 12, HEADS = 12, MLP = 3072, CHANNELS = 3;
    static final int TOKENS = (IMAGE / PATCH) * (IMAGE / PATCH) + 1;
    /** Issue figure: forward GFLOP per image (multiply-adds counted once). */
    public static final double GFLOP_PER_IMAGE = 17.6;
    public static final double FORWARD_GFLOP = B * GFLOP_PER_IMAGE;
    /** The baseline product: 2·788·768·768 = 0.930 GFLOP. */
    public static final double SGEMM_FLOP = 2.0 * B * TOKENS * W * W;

    /** The model, its inputs and prompts. */
    @State(Scope.Benchmark)
    public static class Model {
        Backend be;
        VisionTransformer vit;
        Tensor images, dPooled;
        List<Tensor> prompts = new ArrayList<>();
        Prompts residual;
        private Path file;

        /** How the tower is loaded: fp32 or bf16. */
        @Param({"fp32", "bf16"})
        public String precision;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            Random rnd = new Random(1);
            file = Files.createTempFile("vit-b16-bench-", ".safetensors");
            writeRandomWeights(file, rnd);
            be = Backends.create("cpu");
            vit = VisionTransformer.load(be, file, HEADS, Precision.parse(precision));
            images = be.fromArray(Bench.uniform(rnd, B * CHANNELS * IMAGE * IMAGE), B, CHANNELS, IMAGE, IMAGE);
            for (int l = 0; l < DEPTH; l++) prompts.add(be.fromArray(scaled(rnd, B * W, 0.1f), B, W));
            residual = Prompts.residual(prompts);
            dPooled = be.fromArray(Bench.uniform(rnd, B * W), B, W);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            for (Tensor t : prompts) t.close();
            images.close();
            dPooled.close();
            vit.close();
            be.close();
            Files.deleteIfExists(file);
        }
    }

    /** The baseline's operands (a 788×768·768ᵀ product is B·TOKENS × W · Wᵀ). */
    @State(Scope.Benchmark)
    public static class Gemm {
        Backend be;
        GemmOperands ops;

        @Setup(Level.Trial)
        public void setUp() {
            be = Backends.create("cpu");
            ops = new GemmOperands(be);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            ops.close();
            be.close();
        }
    }

    /**
     * Random ViT-B/16 weights in the timm layout: linear and conv weights uniform with variance
     * 1/fan-in, LayerNorm weights 1 and biases 0, other biases ±0.01, cls/pos ±0.02.
     */
    static void writeRandomWeights(Path path, Random rnd) throws IOException {
        Map<String, float[]> data = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        put(data, shapes, "cls_token", scaled(rnd, W, 0.02f), 1, 1, W);
        put(data, shapes, "pos_embed", scaled(rnd, TOKENS * W, 0.02f), 1, TOKENS, W);
        int patchDim = CHANNELS * PATCH * PATCH;
        put(data, shapes, "patch_embed.proj.weight", fanIn(rnd, W * patchDim, patchDim), W, CHANNELS, PATCH, PATCH);
        put(data, shapes, "patch_embed.proj.bias", scaled(rnd, W, 0.01f), W);
        for (int i = 0; i < DEPTH; i++) {
            String p = "blocks." + i + ".";
            for (String norm : new String[] {"norm1", "norm2"}) {
                put(data, shapes, p + norm + ".weight", ones(W), W);
                put(data, shapes, p + norm + ".bias", new float[W], W);
            }
            linear(data, shapes, rnd, p + "attn.qkv", 3 * W, W);
            linear(data, shapes, rnd, p + "attn.proj", W, W);
            linear(data, shapes, rnd, p + "mlp.fc1", MLP, W);
            linear(data, shapes, rnd, p + "mlp.fc2", W, MLP);
        }
        put(data, shapes, "norm.weight", ones(W), W);
        put(data, shapes, "norm.bias", new float[W], W);
        SafetensorsWriter.write(path, data, shapes);
    }

    private static void linear(Map<String, float[]> data, Map<String, long[]> shapes, Random rnd, String name,
            int out, int in) {
        put(data, shapes, name + ".weight", fanIn(rnd, out * in, in), out, in);
        put(data, shapes, name + ".bias", scaled(rnd, out, 0.01f), out);
    }

    private static void put(Map<String, float[]> data, Map<String, long[]> shapes, String name, float[] v,
            long... shape) {
        data.put(name, v);
        shapes.put(name, shape);
    }

    /** Uniform with variance 1/fanIn. */
    private static float[] fanIn(Random rnd, int n, int fanIn) {
        return scaled(rnd, n, (float) Math.sqrt(3.0 / fanIn));
    }

    private static float[] scaled(Random rnd, int n, float scale) {
        float[] v = Bench.uniform(rnd, n);
        for (int i = 0; i < n; i++) v[i] *= scale;
        return v;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    // ------------------------------------------------------------------ benchmarks

    /** encodePooled, no prompts. */
    @Benchmark
    public void forward(Model m, Blackhole bh) {
        try (TensorScope ignored = TensorScope.open()) {
            bh.consume(m.vit.encodePooled(m.images, Prompts.none()));
        }
    }

    /** encodePooled with residual prompts in all 12 layers. */
    @Benchmark
    public void forwardResidual(Model m, Blackhole bh) {
        try (TensorScope ignored = TensorScope.open()) {
            bh.consume(m.vit.encodePooled(m.images, m.residual));
        }
    }

    /** forwardPooled with residual prompts (keeps what the backward needs), no backward. */
    @Benchmark
    public void forwardTrain(Model m, Blackhole bh) {
        try (TensorScope ignored = TensorScope.open(); Activations act = m.vit.forwardPooled(m.images, m.residual)) {
            bh.consume(act.pooled());
        }
    }

    /** forwardPooled + backwardPooled to the residual prompts of all 12 layers. */
    @Benchmark
    public void forwardBackward(Model m, Blackhole bh) {
        try (TensorScope ignored = TensorScope.open();
                Activations act = m.vit.forwardPooled(m.images, m.residual);
                PromptGradients g = m.vit.backwardPooled(act, m.dPooled, false)) {
            bh.consume(g.residual(0));
        }
    }

    /** OpenBLAS sgemm called directly on a 788×768·768ᵀ product: the rate to compare with. */
    @Benchmark
    public Tensor openblasSgemm(Gemm g) {
        return g.ops.openblasSgemm();
    }
}
