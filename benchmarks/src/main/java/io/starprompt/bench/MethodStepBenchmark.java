package io.starprompt.bench;

import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.codaprompt.CodaPrompt;
import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.common.Adam;
import io.starprompt.method.dualprompt.DualPrompt;
import io.starprompt.method.dualprompt.DualPromptConfig;
import io.starprompt.method.common.GradientClipping;
import io.starprompt.method.l2p.L2PConfig;
import io.starprompt.method.l2p.L2PModel;
import io.starprompt.method.prompting.PrefixPromptMethod;
import io.starprompt.method.starprompt.PromptedClassifier;
import io.starprompt.method.starprompt.SecondStage;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One training step and one inference batch of a method's trainable model over ViT-B/16 at real
 * size (224 px, patch 16, width 768, 12 blocks, 12 heads; random weights in the timm layout) on
 * the {@code cpu} backend, B = 4, 100 classes, with {@code @Param method} naming the method:
 * <ul>
 *   <li>{@code starprompt}: the second-stage step (ALGORITHM.md §4): retrieval, residual prompts in
 *       the ViT, masked cross-entropy, backward to A, P and the head, Adam. Its queries come from
 *       CLIP, a different backbone, and are fixed random unit vectors here (the CLIP pass is not
 *       timed);</li>
 *   <li>{@code l2p}: the L2P step (methods/l2p.md §2-§8): the query pass of the frozen ViT without
 *       prompts, cosine top-5 selection, the prompted pass over 1 + 25 + 196 tokens, backward
 *       through all 12 blocks to the pool, keys and head, global-norm clipping, Adam;</li>
 *   <li>{@code dualprompt}, {@code coda-prompt}: one {@code trainBatch} of task 1 of 10 with the
 *       reference settings (methods/dualprompt.md, methods/coda-prompt.md): the query pass, prefix
 *       prompts in layers 0–4 (top-1 E-prompt by task identity; 100 components weighted by the
 *       query), the prompted pass and its backward through the prefixed layers, Adam (DualPrompt
 *       also clips); inference is {@code logits} after task 1 (test-time prompt selection).</li>
 * </ul>
 * Inference is the method's logits for the batch, queries included for L2P. Adding a method is one
 * word in {@code @Param} and one case in {@link #open}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 3, time = 10)
@Fork(1)
public class MethodStepBenchmark {
    static final int B = 4, IMAGE = 224, CLASSES = 100, PAST = 10, SEEN = 20;

    /** A method's model over the ViT: one training step, one inference batch. */
    interface Method extends AutoCloseable {
        void trainStep();

        Tensor infer();

        @Override
        void close();
    }

    /** The ViT, the inputs and the method under test. */
    @State(Scope.Benchmark)
    public static class Run {
        @Param({"starprompt", "l2p", "dualprompt", "coda-prompt"})
        public String method;

        Backend be;
        VisionTransformer vit;
        Tensor images;
        int[] labels;
        Method model;
        private Path file;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            file = Files.createTempFile("vit-b16-method-bench-", ".safetensors");
            RandomCheckpoints.writeVit(file, new RandomCheckpoints.Tower(IMAGE, 16, 768, 12, 12), 1);
            be = Backends.create("cpu");
            vit = VisionTransformer.load(be, file, 12);
            Random rnd = new Random(2);
            images = be.fromArray(Bench.uniform(rnd, B * 3 * IMAGE * IMAGE), B, 3, IMAGE, IMAGE);
            labels = new int[B];
            for (int i = 0; i < B; i++) labels[i] = PAST + rnd.nextInt(SEEN - PAST);
            model = open(method, vit, images, labels, rnd);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            model.close();
            images.close();
            vit.close();
            be.close();
            Files.deleteIfExists(file);
        }
    }

    /** The method of that name over vit. */
    static Method open(String name, VisionTransformer vit, Tensor images, int[] labels, Random rnd) {
        return switch (name) {
            case "starprompt" -> new StarPromptStep(vit, images, labels, rnd);
            case "l2p" -> new L2PStep(vit, images, labels);
            case "dualprompt" -> new PrefixStep(new DualPrompt(vit, CLASSES, DualPromptConfig.builder()
                    .set(DualPromptConfig::batchSize, B).build(), 3), vit, images);
            case "coda-prompt" -> new PrefixStep(new CodaPrompt(vit, CLASSES, CodaPromptConfig.builder()
                    .set(CodaPromptConfig::batchSize, B).build(), 3), vit, images);
            default -> throw new IllegalArgumentException("MethodStepBenchmark: no method '" + name + "'");
        };
    }

    /** STAR-Prompt's second-stage model with fixed CLIP-sized queries and unit keys. */
    static final class StarPromptStep implements Method {
        private static final int QUERY = 768;
        private final PromptedClassifier model;
        private final Adam adam;
        private final Tensor images, queries, keys;
        private final int[] labels;

        StarPromptStep(VisionTransformer vit, Tensor images, int[] labels, Random rnd) {
            Backend be = vit.backend();
            model = PromptedClassifier.initialised(vit, CLASSES, QUERY, StarPromptConfig.builder().build(), 3);
            adam = new Adam(be, model.parameters(), new AdamConfig(1e-3f, 0.9f, 0.999f, 1e-8f, 0f));
            this.images = images;
            this.labels = labels;
            queries = TensorScope.detach(be.fromArray(Bench.uniform(rnd, B * QUERY), B, QUERY));
            keys = TensorScope.detach(be.fromArray(Bench.unitRows(rnd, SEEN, QUERY), SEEN, QUERY));
        }

        @Override
        public void trainStep() {
            try (TensorScope s = TensorScope.open();
                    SecondStage.Result r = model.lossAndGradients(images, queries, keys, labels,
                            SecondStage.ClassRange.training(PAST, SEEN))) {
                adam.step(java.util.List.of(r.dModulation(), r.dPrompts(), r.dHeadWeight(), r.dHeadBias()), 1e-3f);
            }
        }

        @Override
        public Tensor infer() {
            return model.logits(images, queries, keys, SEEN);
        }

        @Override
        public void close() {
            adam.close();
            queries.close();
            keys.close();
            model.close();
        }
    }

    /** L2P with its reference settings (M = 10, L = 5, N = 5, λ = 0.1, clipping to 1.0). */
    static final class L2PStep implements Method {
        private final L2PModel model;
        private final Adam adam;
        private final L2PConfig cfg = L2PConfig.builder().set(L2PConfig::batchSize, B).build();
        private final Tensor images;
        private final int[] labels;

        L2PStep(VisionTransformer vit, Tensor images, int[] labels) {
            model = L2PModel.initialised(vit, CLASSES, cfg, 3);
            adam = new Adam(vit.backend(), model.parameters(),
                    new AdamConfig(cfg.learningRate(), 0.9f, 0.999f, 1e-8f, 0f));
            this.images = images;
            this.labels = labels;
        }

        @Override
        public void trainStep() {
            Backend be = model.vit().backend();
            try (TensorScope s = TensorScope.open();
                    L2PModel.Result r = model.lossAndGradients(images, model.queries(images), labels, PAST, SEEN)) {
                GradientClipping.clip(be, r.gradients(), cfg.clipNorm());
                adam.step(r.gradients(), cfg.learningRate());
            }
        }

        @Override
        public Tensor infer() {
            return model.logits(images, model.queries(images));
        }

        @Override
        public void close() {
            adam.close();
            model.close();
        }
    }

    /**
     * A prefix-prompt method through its public per-batch API: one instance in task 1 for the
     * training step (labels of task 1), one that has finished task 1 for inference.
     */
    static final class PrefixStep implements Method {
        private final PrefixPromptMethod training, trained;
        private final Tensor images;
        private final int[] labels = new int[B];

        PrefixStep(PrefixPromptMethod method, VisionTransformer vit, Tensor images) {
            TaskData data = SyntheticTaskData.builder().classes(CLASSES).tasks(CLASSES / (SEEN - PAST)).trainPerClass(1)
                    .testPerClass(1).imageSize(IMAGE).seed(3).build();
            training = method;
            training.beginTask(0, data);
            trained = method instanceof DualPrompt d ? new DualPrompt(vit, CLASSES, d.config(), 3)
                    : new CodaPrompt(vit, CLASSES, ((CodaPrompt) method).config(), 3);
            trained.beginTask(0, data);
            trained.endTask(0);
            this.images = images;
            for (int i = 0; i < B; i++) labels[i] = i % (SEEN - PAST);
        }

        @Override
        public void trainStep() {
            training.trainBatch(0, 0, images, labels);
        }

        @Override
        public Tensor infer() {
            return trained.logits(images);
        }

        @Override
        public void close() {
            training.close();
            trained.close();
        }
    }

    /** Forward, backward to the method's trainable tensors, optimiser update. */
    @Benchmark
    public void trainStep(Run r) {
        r.model.trainStep();
    }

    /** Class scores of one batch. */
    @Benchmark
    public void inference(Run r, Blackhole bh) {
        try (TensorScope ignored = TensorScope.open()) {
            bh.consume(r.model.infer());
        }
    }
}
