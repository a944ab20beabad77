package io.starprompt.cli;

import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.backend.BackendSpec;
import io.starprompt.backend.Profiler;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.method.common.Adam;
import io.starprompt.method.common.ClipQueries;
import io.starprompt.method.starprompt.PromptedClassifier;
import io.starprompt.method.starprompt.SecondStage;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code starprompt bench}: the hot spots of a STAR-Prompt step on this machine, each kernel
 * variant of the chosen backend timed in the same run, so the fused kernels are compared with
 * their unfused baselines on the same hardware; then the prompted ViT step with the default and
 * the naive attention. Wall-clock medians after warm-up (the backend is synchronised around
 * each run). Sizes are those of one ViT-B/16 layer (197 tokens, width 768, 12 heads).
 *
 * <p>With {@code --profile}: the backend's op-level profiler ({@link Profiler}) over one
 * second-stage training step of a small model (CLIP query, retrieval, prompted ViT forward and
 * backward, head, loss, orthogonality term, Adam), once per attention variant (the default,
 * then {@code naive}), each printed as a per-op table. On CUDA the step also emits NVTX ranges
 * named by layer and op, for Nsight Systems.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time the kernels and the prompted ViT step on this machine, every variant in the same run.")
final class Bench implements Callable<Integer> {
    private static final int N = 197, H = 12, HD = 64, W = H * HD, CLASSES = 100, LAYERS = 12, D = 768;

    @Mixin
    Main.Common common = new Main.Common();

    @Spec
    CommandSpec spec;

    @Option(names = "--batch", defaultValue = "4", description = "images per step (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--runs", defaultValue = "5", description = "timed runs per case, after one warm-up (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--model-size", defaultValue = "small",
            description = "ViT for the model step: small (96 px, 6 layers of width 384), base (ViT-B/16 at 224 px) or none")
    String modelSize;

    @Option(names = "--profile", description = "instead of the timings: the per-op profile of one second-stage training"
            + " step, with the default and with the naive attention")
    boolean profile;

    @Option(names = "--warmup", defaultValue = "2", description = "with --profile: unprofiled steps before the profiled"
            + " one, per variant (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--by-shape", description = "with --profile: one row per op, variant and operand shapes"
            + " (default: one row per op and variant)")
    boolean byShape;

    private final PrintStream out;

    Bench(PrintStream out) {
        this.out = out;
    }

    /** One timed line: what, which variant, median milliseconds and the FLOP count (0 if not counted). */
    private record Row(String what, String variant, double ms, double flop) {}

    @Override
    public Integer call() throws IOException {
        Main.positive(spec, "--batch", batch);
        Main.positive(spec, "--runs", runs);
        if (!List.of("small", "base", "none").contains(modelSize)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--model-size must be small, base or none, got '" + modelSize + "'");
        }
        if (profile) {
            if (warmup < 0) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--warmup must be ≥ 0");
            if (modelSize.equals("none")) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--profile needs a model: --model-size small or base");
            }
            try (Backend be = common.openBackend()) {
                profileSecondStage(be);
            }
            return 0;
        }
        try (Backend be = common.openBackend()) {
            out.printf("starprompt bench on the %s backend, batch %d, median of %d runs%n", be.name(), batch, runs);
            List<Row> rows = new ArrayList<>();
            rows.addAll(attention(be));
            rows.addAll(retrieval(be));
            if (!modelSize.equals("none")) rows.addAll(vitStep(be));
            print(rows);
        }
        return 0;
    }

    private List<Row> attention(Backend be) {
        List<Row> rows = new ArrayList<>();
        try (TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(1);
            AttentionInputs in = new AttentionInputs(uniform(be, rnd, batch, N, W), uniform(be, rnd, batch, N, W),
                    uniform(be, rnd, batch, N, W), null, null, uniform(be, rnd, batch, W), H, (float) (1 / Math.sqrt(HD)),
                    false);
            Tensor o = be.empty(batch, N, W), lse = be.empty(batch, H, N), dOut = uniform(be, rnd, batch, N, W);
            AttentionGrads g = new AttentionGrads(be.empty(batch, N, W), be.empty(batch, N, W), be.empty(batch, N, W),
                    null, null, be.empty(batch, W));
            double flop = 4.0 * batch * N * N * W;
            for (String variant : variants(be, "attention")) {
                rows.add(new Row("attention forward, residual prompt", variant,
                        timed(be, "attention", variant, () -> be.attention(in, o, lse)), flop));
                rows.add(new Row("attention backward", variant,
                        timed(be, "attention", variant, () -> be.attentionBackward(in, o, lse, dOut, g)), 2.5 * flop));
            }
        }
        return rows;
    }

    private List<Row> retrieval(Backend be) {
        List<Row> rows = new ArrayList<>();
        try (TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(2);
            RetrievalInputs in = new RetrievalInputs(uniform(be, rnd, batch, D), unitRows(be, rnd, CLASSES, D),
                    uniform(be, rnd, LAYERS, CLASSES, D), uniform(be, rnd, LAYERS, CLASSES, W), CLASSES, true);
            Tensor sims = be.empty(LAYERS, batch, CLASSES), sp = be.empty(LAYERS, batch, W);
            Tensor sel = be.empty(DType.I32, LAYERS, batch);
            for (String variant : variants(be, "retrieval")) {
                rows.add(new Row("retrieval, " + LAYERS + " layers × " + CLASSES + " classes", variant,
                        timed(be, "retrieval", variant, () -> be.retrieval(in, sims, sel, sp)), 0));
            }
        }
        return rows;
    }

    private List<Row> vitStep(Backend be) throws IOException {
        boolean base = modelSize.equals("base");
        RandomCheckpoints.Tower tower = base ? new RandomCheckpoints.Tower(224, 16, 768, 12, 12)
                : new RandomCheckpoints.Tower(96, 16, 384, 6, 6);
        Path dir = Files.createTempDirectory("starprompt-bench");
        Path weights = dir.resolve("vit.safetensors");
        List<Row> rows = new ArrayList<>();
        try {
            RandomCheckpoints.writeVit(weights, tower, 1);
            try (VisionTransformer vit = VisionTransformer.load(be, weights, tower.heads());
                    TensorScope scope = TensorScope.open()) {
                Random rnd = new Random(3);
                int s = tower.imageSize(), w = tower.width();
                Tensor images = uniform(be, rnd, batch, 3, s, s);
                List<Tensor> prompts = new ArrayList<>();
                for (int l = 0; l < tower.depth(); l++) prompts.add(uniform(be, rnd, batch, w));
                Tensor dPooled = uniform(be, rnd, batch, w);
                String what = String.format(Locale.ROOT, "ViT %d px, %d layers × %d, prompted forward + backward", s,
                        tower.depth(), w);
                for (String variant : variants(be, "attention")) {
                    rows.add(new Row(what, new BackendSpec.Choice("attention", variant).toString(), timed(be, "attention", variant, () -> {
                        try (TensorScope step = TensorScope.open();
                                Activations act = vit.forwardPooled(images, Prompts.residual(prompts));
                                PromptGradients grads = vit.backwardPooled(act, dPooled, false)) {
                            grads.residual(0);
                        }
                    }), 0));
                }
            }
        } finally {
            Files.deleteIfExists(weights);
            Files.deleteIfExists(dir);
        }
        return rows;
    }

    // ------------------------------------------------------------------ --profile

    private static final int PROFILE_CLASSES = 10, PROFILE_PAST = 5;

    /**
     * One second-stage step of task 2 (classes 5–9 current, 0–4 past) profiled per attention
     * variant, after {@code --warmup} unprofiled steps with that variant.
     */
    private void profileSecondStage(Backend be) throws IOException {
        boolean base = modelSize.equals("base");
        RandomCheckpoints.Tower vitTower = base ? new RandomCheckpoints.Tower(224, 16, 768, 12, 12)
                : new RandomCheckpoints.Tower(96, 16, 384, 6, 6);
        RandomCheckpoints.Tower clipTower = base ? new RandomCheckpoints.Tower(224, 16, 768, 12, 12)
                : new RandomCheckpoints.Tower(96, 16, 256, 4, 4);
        int projection = base ? 768 : 128;
        Path dir = Files.createTempDirectory("starprompt-bench");
        Path vitFile = dir.resolve("vit.safetensors"), clipFile = dir.resolve("clip.safetensors");
        Path clipConfig = dir.resolve("config.json");
        try {
            RandomCheckpoints.writeVit(vitFile, vitTower, 1);
            RandomCheckpoints.writeClip(clipFile, clipConfig, clipTower, 100, 64, 1, 4, projection, 2);
            StarPromptConfig cfg = StarPromptConfig.builder().build();
            SecondStage.ClassRange range = SecondStage.ClassRange.training(PROFILE_PAST, PROFILE_CLASSES);
            try (VisionTransformer vit = VisionTransformer.load(be, vitFile, vitTower.heads());
                    Clip clip = Clip.load(be, clipFile, clipConfig);
                    PromptedClassifier model = PromptedClassifier.initialised(vit, PROFILE_CLASSES, projection, cfg, 3);
                    Adam adam = new Adam(be, model.parameters(), new AdamConfig(cfg.stage2().lr(), 0.9f, 0.999f, 1e-8f, 0f));
                    TensorScope scope = TensorScope.open()) {
                Random rnd = new Random(4);
                int s = vitTower.imageSize(), cs = clipTower.imageSize();
                Tensor images = uniform(be, rnd, batch, 3, s, s);
                float[] clipImages = new float[batch * 3 * cs * cs];
                for (int i = 0; i < clipImages.length; i++) clipImages[i] = rnd.nextFloat() * 2 - 1;
                Tensor keys = unitRows(be, rnd, PROFILE_CLASSES, projection);
                int[] labels = new int[batch];
                for (int i = 0; i < batch; i++) labels[i] = PROFILE_PAST + i % (PROFILE_CLASSES - PROFILE_PAST);
                out.printf(Locale.ROOT, "starprompt bench --profile on the %s backend: one second-stage step, batch %d,"
                        + " ViT %d px × %d layers of width %d, CLIP image tower %d px × %d layers of width %d,"
                        + " %d classes (%d past)%n", be.name(), batch, s, vitTower.depth(), vitTower.width(), cs,
                        clipTower.depth(), clipTower.width(), PROFILE_CLASSES, PROFILE_PAST);
                boolean nvtx = be.name().equals("cuda") && !be.profiler().nvtxEnabled();
                if (nvtx) be.profiler().nvtx(true);
                Map<String, Double> attentionMs = new LinkedHashMap<>();
                try {
                    for (String variant : variants(be, "attention")) {
                        String previous = variant.equals("default") ? null : be.kernels().select("attention", variant);
                        try {
                            Runnable step = () -> secondStageStep(be, clip, model, adam, images, clipImages, keys, labels,
                                    range, cfg);
                            for (int i = 0; i < warmup; i++) step.run();
                            be.synchronize();
                            be.profiler().start();
                            step.run();
                            Profiler.Report report = be.profiler().stop();
                            out.printf("%nsecond-stage step, %s%n", new BackendSpec.Choice("attention", variant));
                            out.print(byShape ? report.table() : report.summary());
                            double ms = 0;
                            for (Profiler.Row r : report.rows()) {
                                if (r.op().startsWith("attention")) ms += r.ms();
                            }
                            attentionMs.put(variant, ms);
                        } finally {
                            if (previous != null) be.kernels().select("attention", previous);
                        }
                    }
                } finally {
                    if (nvtx) be.profiler().nvtx(false);
                }
                out.println();
                attentionMs.forEach((v, ms) -> out.printf(Locale.ROOT, "attention forward + backward, attention=%s: %.3f ms%n",
                        v, ms));
                if (nvtx) {
                    out.println("NVTX ranges were emitted (vit.blockN.<op>, clip.vision.layerN.<op>, head.<op>,"
                            + " prompter.<op>): run under nsys profile --trace=cuda,nvtx to see them");
                }
            }
        } finally {
            Files.deleteIfExists(vitFile);
            Files.deleteIfExists(clipFile);
            Files.deleteIfExists(clipConfig);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * One second-stage training step as the trainer runs it: the CLIP queries of the batch, loss
     * and gradients of the prompted classifier, the orthogonality term, one Adam step.
     */
    private void secondStageStep(Backend be, Clip clip, PromptedClassifier model, Adam adam, Tensor images,
            float[] clipImages, Tensor keys, int[] labels, SecondStage.ClassRange range, StarPromptConfig cfg) {
        try (TensorScope step = TensorScope.open()) {
            Tensor queries = ClipQueries.compute(clip, clipImages, batch);
            try (SecondStage.Result r = model.lossAndGradients(images, queries, keys, labels, range)) {
                model.addOrthogonalityLoss(range.seen(), range.past(), cfg.stage2().lambdaOrtho(), r.dPrompts());
                try (Profiler.Scope s = be.profiler().scope("adam")) {
                    adam.step(List.of(r.dModulation(), r.dPrompts(), r.dHeadWeight(), r.dHeadBias()), cfg.stage2().lr());
                }
            }
        }
    }

    /** The op's variants, default first; a backend without choices has one. */
    private static List<String> variants(Backend be, String op) {
        List<String> v = be.kernels().variants().get(op);
        return v == null ? List.of("default") : v;
    }

    /** Median wall milliseconds of {@code runs} runs after one warm-up, with the variant selected. */
    private double timed(Backend be, String op, String variant, Runnable work) {
        String previous = variant.equals("default") ? null : be.kernels().select(op, variant);
        try {
            work.run();
            be.synchronize();
            double[] ms = new double[runs];
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                work.run();
                be.synchronize();
                ms[r] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(ms);
            return ms[runs / 2];
        } finally {
            if (previous != null) be.kernels().select(op, previous);
        }
    }

    /** The table: each case's variants together, the speed-up relative to the case's last (baseline) variant. */
    private void print(List<Row> rows) {
        Map<String, List<Row>> byCase = new LinkedHashMap<>();
        for (Row r : rows) byCase.computeIfAbsent(r.what(), k -> new ArrayList<>()).add(r);
        out.printf("%-56s %-18s %10s %9s %9s%n", "case", "variant", "ms", "GFLOP/s", "speed-up");
        for (List<Row> variants : byCase.values()) {
            double baseline = variants.get(variants.size() - 1).ms();
            for (Row r : variants) {
                out.printf(Locale.ROOT, "%-56s %-18s %10.2f %9s %8.2fx%n", r.what(), r.variant(), r.ms(),
                        r.flop() > 0 ? String.format(Locale.ROOT, "%.1f", r.flop() / (r.ms() * 1e6)) : "-", baseline / r.ms());
            }
        }
        out.println("speed-up: against the last variant of each case (the unfused baseline) in this run");
    }

    private static Tensor uniform(Backend be, Random rnd, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return be.fromArray(v, shape);
    }

    private static Tensor unitRows(Backend be, Random rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int j = 0; j < cols; j++) {
                v[r * cols + j] = rnd.nextFloat() * 2 - 1;
                n += v[r * cols + j] * v[r * cols + j];
            }
            for (int j = 0; j < cols; j++) v[r * cols + j] /= (float) Math.sqrt(n);
        }
        return be.fromArray(v, rows, cols);
    }
}
