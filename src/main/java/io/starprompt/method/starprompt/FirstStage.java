package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.MethodState;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.method.common.FiniteCheck;
import io.starprompt.method.common.Seeds;
import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.clip.ClipLogits;
import io.starprompt.model.clip.TextActivations;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.model.safetensors.SafetensorsWriter;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The first stage of STAR-Prompt (ALGORITHM.md §3, §5): one learnable context token per class in the
 * frozen CLIP text tower, trained so that the class's text feature (its <em>key</em>) matches the
 * CLIP image features of the class; at the end of every task a Gaussian mixture per current class
 * is fitted to those image features and the current ctx are re-aligned on synthetic samples of all
 * seen classes (generative replay). The keys of a task's classes after that alignment are fixed
 * for good: they index the second stage's prompts.
 *
 * <h2>Per task t with classes [past, seen)</h2>
 * <pre>{@code
 * FirstStage s1 = new FirstStage(clip, FirstStage.promptIds(tok, names), FirstStageConfig.defaults(), seed);
 * // cache the CLIP features of the task once (ALGORITHM.md §10.4)
 * Tensor q = s1.imageFeatures(pixels);                // per batch, kept for all epochs
 * for (epoch ...) for (batch ...) s1.trainStep(q, labels, past, seen);
 * s1.endTask(featuresByClass, past, seen, rnd);       // MoG fit + alignment, keys of [past, seen) fixed
 * Tensor keys = s1.keys(seen);                        // unit keys [seen, d] for stage 2
 * }</pre>
 *
 * <h2>Memory</h2>
 * The ctx parameter [C, 1, D_txt] is owned by this object (freed by {@link #close()}, whatever
 * {@link TensorScope} is open when it is created). Every step runs in its own scope and leaves nothing behind; methods that return a tensor allocate it
 * in the caller's current scope. Fixed keys and the mixtures live on the host.
 *
 * <p>Not thread-safe (neither is the backend).
 */
public final class FirstStage implements AutoCloseable {
    /** The replaced token position: "X" in "X {name}." (ALGORITHM.md §3.1). */
    public static final int CONTEXT_POSITION = 1;
    /** Standard deviation of the ctx initialisation (ALGORITHM.md §3.1). */
    public static final double INIT_STD = 0.02;

    private final Clip clip;
    private final Backend be;
    private final int[][] promptIds;
    private final FirstStageConfig cfg;
    private final GaussianMixture.Density density;
    private final int classes;
    private final int textWidth;   // D_txt
    private final int featureDim;  // d (projection dim)
    private final Tensor ctx;      // [C, 1, D_txt]
    private final float[] keyCache;     // [C, d] unit keys of fixed classes
    private final boolean[] keyFixed;
    private final GaussianMixture[] mixtures;
    private final List<Float> lastAlignmentLosses = new ArrayList<>();
    private boolean closed;

    // ------------------------------------------------------------------ construction

    /**
     * A first stage for C = promptIds.length classes with ctx ~ N(0, 0.02²) drawn from
     * {@code seed}.
     *
     * @param clip      the frozen CLIP model (not owned; close it after this object)
     * @param promptIds per class the token ids of "X {name}." (see {@link #promptIds}); position
     *                  1 is replaced by the class's ctx, so each row must have its end-of-text
     *                  token after position 1
     * @param cfg       hyper-parameters
     * @param density   E-step density of the class mixtures (one setting for both stages of a
     *                  run: {@link StarPromptConfig.Replay#density()})
     * @param seed      seeds the ctx initialisation
     */
    public FirstStage(Clip clip, int[][] promptIds, FirstStageConfig cfg, GaussianMixture.Density density, long seed) {
        this(clip, promptIds, cfg, density, initialCtx(clip, promptIds, seed));
    }

    /**
     * As {@link #FirstStage(Clip, int[][], FirstStageConfig, GaussianMixture.Density, long)} with
     * given initial ctx values [C, 1, D_txt] row-major (copied), e.g. to reproduce a reference run.
     *
     * @param clip the frozen CLIP (borrowed)
     * @param promptIds the 77 token ids of every class's prompt
     * @param cfg the stage-1 settings
     * @param density the mixture density of the class statistics
     * @param initialCtx the initial ctx values
     */
    public FirstStage(Clip clip, int[][] promptIds, FirstStageConfig cfg, GaussianMixture.Density density,
            float[] initialCtx) {
        this.clip = Objects.requireNonNull(clip, "clip");
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.density = Objects.requireNonNull(density, "density");
        this.be = clip.backend();
        this.promptIds = checkedIds(promptIds);
        this.classes = promptIds.length;
        this.textWidth = clip.config().text().width();
        this.featureDim = clip.config().projectionDim();
        Objects.requireNonNull(initialCtx, "initialCtx");
        if (initialCtx.length != (long) classes * textWidth) {
            throw new IllegalArgumentException("first stage: initial ctx has " + initialCtx.length + " values, expected "
                    + classes + " × 1 × " + textWidth);
        }
        checkFinite("initial ctx", initialCtx);
        this.keyCache = new float[classes * featureDim];
        this.keyFixed = new boolean[classes];
        this.mixtures = new GaussianMixture[classes];
        this.ctx = TensorScope.detach(be.fromArray(initialCtx, classes, 1, textWidth));
    }

    /**
     * The first stage of a STAR-Prompt run: the run's stage-1 settings and mixture density, ctx
     * drawn from a seed derived from the run seed (the same in every run with that seed).
     *
     * @param clip the frozen CLIP (borrowed)
     * @param promptIds the 77 token ids of every class's prompt
     * @param cfg the run's configuration
     * @param runSeed the run's seed
     * @return the first stage
     */
    public static FirstStage forRun(Clip clip, int[][] promptIds, StarPromptConfig cfg, long runSeed) {
        return new FirstStage(clip, promptIds, cfg.stage1(), cfg.replay().density(), Seeds.mix(runSeed, 1, 0));
    }

    private static float[] initialCtx(Clip clip, int[][] promptIds, long seed) {
        Objects.requireNonNull(clip, "clip");
        Objects.requireNonNull(promptIds, "promptIds");
        int width = clip.config().text().width();
        float[] v = new float[Math.multiplyExact(promptIds.length, width)];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * INIT_STD);
        return v;
    }

    private static int[][] checkedIds(int[][] ids) {
        Objects.requireNonNull(ids, "promptIds");
        if (ids.length == 0) throw new IllegalArgumentException("first stage: no classes (promptIds is empty)");
        int[][] copy = new int[ids.length][];
        for (int c = 0; c < ids.length; c++) {
            if (ids[c] == null || ids[c].length <= CONTEXT_POSITION + 1) {
                throw new IllegalArgumentException("first stage: promptIds[" + c + "] must hold at least "
                        + (CONTEXT_POSITION + 2) + " ids (start, placeholder, …, end of text)");
            }
            copy[c] = ids[c].clone();
        }
        return copy;
    }

    /**
     * The first-stage prompts of ALGORITHM.md §3.1: for each class the 77 ids of {@code "X " + name + "."}
     * (the tokenizer lower-cases; the "X" placeholder at position 1 is what the ctx replaces).
     *
     * @param tok CLIP's tokenizer
     * @param classNames one name per label
     * @return the ids, one row of 77 per class
     * @throws IllegalArgumentException if "X" is not a single token of this tokenizer, or a
     *     prompt is longer than 77 tokens
     */
    public static int[][] promptIds(ClipTokenizer tok, List<String> classNames) {
        Objects.requireNonNull(tok, "tokenizer");
        Objects.requireNonNull(classNames, "classNames");
        int[] placeholder = tok.encode("X");
        if (placeholder.length != 1) {
            throw new IllegalArgumentException("first stage: \"X\" is " + placeholder.length
                    + " tokens for this tokenizer; the placeholder must be a single token");
        }
        int[][] out = new int[classNames.size()][];
        for (int c = 0; c < out.length; c++) {
            String name = Objects.requireNonNull(classNames.get(c), "class name " + c);
            out[c] = tok.tokenize("X " + name + ".");
        }
        return out;
    }


    // ------------------------------------------------------------------ accessors

    /**
     * Number of classes C (the size of every per-class pool).
     *
     * @return C
     */
    public int classes() {
        return classes;
    }

    /**
     * d, the CLIP joint embedding size (width of features and keys).
     *
     * @return d
     */
    public int featureDim() {
        return featureDim;
    }

    /** The frozen CLIP model (borrowed). */
    Clip clip() {
        return clip;
    }

    /**
     * The hyper-parameters.
     *
     * @return the stage-1 settings
     */
    public FirstStageConfig config() {
        return cfg;
    }

    /**
     * The learnable ctx [C, 1, D_txt], owned by this object (do not close it).
     *
     * @return the ctx tensor
     */
    public Tensor ctx() {
        ensureOpen("ctx");
        return ctx;
    }

    /**
     * Overwrites all ctx values with values [C, 1, D_txt] row-major.
     *
     * @param values C·D_txt values
     */
    public void loadCtx(float[] values) {
        ensureOpen("loadCtx");
        Objects.requireNonNull(values, "values");
        if (values.length != ctx.numel()) {
            throw new IllegalArgumentException("loadCtx: " + values.length + " values, expected " + ctx.numel());
        }
        checkFinite("ctx", values);
        try (TensorScope ignored = TensorScope.open()) {
            be.copy(be.fromArray(values, ctx.shape()), ctx);
        }
    }

    /**
     * Whether class c's key is fixed (its task's {@link #endTask} ran).
     *
     * @param c a class
     * @return whether its key is fixed
     */
    public boolean keyFixed(int c) {
        checkClass(c);
        return keyFixed[c];
    }

    /**
     * The fitted mixture of class c, or null before its task's {@link #endTask}.
     *
     * @param c a class
     * @return its mixture, or null
     */
    public GaussianMixture mixture(int c) {
        checkClass(c);
        return mixtures[c];
    }

    /**
     * Mean alignment loss of each epoch of the latest {@link #endTask} (empty before).
     *
     * @return the losses
     */
    public List<Float> lastAlignmentLosses() {
        return List.copyOf(lastAlignmentLosses);
    }

    // ------------------------------------------------------------------ training

    /**
     * Raw CLIP image features [B, d] (not normalised, no gradient) of CLIP-preprocessed pixels;
     * a new tensor in the current scope. Stage-1 inputs are deterministic, so callers compute
     * them once per task and reuse them for every epoch and the mixture fits (ALGORITHM.md §10.4).
     *
     * @param clipPixels CLIP input [B, 3, S, S]
     * @return the features
     */
    public Tensor imageFeatures(Tensor clipPixels) {
        ensureOpen("imageFeatures");
        return clip.imageFeatures(clipPixels);
    }

    /**
     * Loss parts and the ctx gradient of one batch, as returned by {@link #gradient}.
     *
     * @param loss          CE + λ1·ortho
     * @param crossEntropy  the mean CE over the current classes
     * @param orthogonality the ortho term before λ1 (0 when past = 0)
     * @param dCtx          d loss / d ctx of the current rows, row-major [seen − past, 1, D_txt]
     */
    public record Gradient(float loss, float crossEntropy, float orthogonality, float[] dCtx) {}

    /**
     * One stage-1 training step (ALGORITHM.md §3.3, §3.4) on a batch of raw image features [B, d] with
     * global labels in [past, seen): logits exp(logitScale)·cos(q, k_c) over the current classes
     * [past, seen) only (the past classes' logits are −∞ in the reference, so the masked CE is
     * the CE over the current classes), plus λ1 times the ctx orthogonality term when past &gt; 0
     * ({@link #orthogonality}); one plain SGD step (lr, no momentum, no weight decay) on the
     * current ctx rows. Leaves nothing allocated.
     *
     * @param features raw image features [B, d]
     * @param labels their labels, in [past, seen)
     * @param past the first current class
     * @param seen the end of the current classes
     * @return the loss CE + λ1·ortho before the step
     * @throws IllegalArgumentException for a bad class range, batch or label
     * @throws IllegalStateException if a current class's key is already fixed
     * @throws io.starprompt.method.TrainingDivergedException if the loss or the gradient holds NaN
     *     or infinity (ctx is left as it was)
     */
    public float trainStep(Tensor features, int[] labels, int past, int seen) {
        checkTraining("trainStep", features, labels, past, seen);
        try (TensorScope ignored = TensorScope.open()) {
            float[] parts = new float[2];
            Tensor dCtx = computeGradient(features, labels, past, seen, parts);
            float loss = parts[0] + cfg.lambdaOrtho() * parts[1];
            FiniteCheck.loss(loss);
            FiniteCheck.gradients(be, CTX_GRADIENT, List.of(dCtx));
            be.sgdStep(ctx.rows(past, seen - past), dCtx, cfg.lr(), 0f);
            return loss;
        }
    }

    /** The gradient of trainStep and of the key alignment, in words. */
    private static final List<String> CTX_GRADIENT = List.of("the gradient of the context tokens ctx");

    /**
     * The loss of {@link #trainStep} and its gradient with respect to the current ctx rows
     * [seen − past, 1, D_txt] (row-major, λ1·ortho gradient included), without updating anything.
     * For checks and diagnostics.
     *
     * @param features raw image features [B, d]
     * @param labels their labels, in [past, seen)
     * @param past the first current class
     * @param seen the end of the current classes
     * @return the loss and the gradient
     */
    public Gradient gradient(Tensor features, int[] labels, int past, int seen) {
        checkTraining("gradient", features, labels, past, seen);
        try (TensorScope ignored = TensorScope.open()) {
            float[] parts = new float[2];
            Tensor dCtx = computeGradient(features, labels, past, seen, parts);
            return new Gradient(parts[0] + cfg.lambdaOrtho() * parts[1], parts[0], parts[1], be.toFloatArray(dCtx));
        }
    }

    /** The gradient of CE + λ1·ortho wrt ctx rows [past, seen) in the current scope; parts = {CE, ortho}. */
    private Tensor computeGradient(Tensor features, int[] labels, int past, int seen, float[] parts) {
        int cur = seen - past;
        int[] local = new int[labels.length];
        for (int b = 0; b < labels.length; b++) local[b] = labels[b] - past;
        int[][] ids = Arrays.copyOfRange(promptIds, past, seen);
        Tensor dCtx;
        try (TextActivations act = clip.textForward(ids, ctx.rows(past, cur), CONTEXT_POSITION);
                ClipLogits z = ClipLogits.compute(be, features, act.features(), clip.logitScale())) {
            Tensor dLogits = be.empty(z.logits().shape());
            parts[0] = be.crossEntropy(z.logits(), local, 0, cur, dLogits);
            dCtx = clip.textBackward(act, z.textGradient(dLogits));
        }
        parts[1] = 0f;
        if (past > 0) {
            float[] host = be.toFloatArray(ctx.rows(0, seen));
            float[] g = new float[cur * textWidth];
            parts[1] = (float) orthogonality(host, textWidth, past, seen, g);
            if (cfg.lambdaOrtho() != 0f) be.axpy(dCtx, be.fromArray(g, cur, 1, textWidth), cfg.lambdaOrtho());
        }
        return dCtx;
    }

    /**
     * The stage-1 orthogonality term (ALGORITHM.md §3.3): mean over current i ∈ [past, seen) and past
     * j &lt; past of ⟨ctx_i, ctx_j⟩² on the raw vectors (no norm term), past rows detached.
     * Computed in float64; writes d/dctx_i into gradCurrent [seen − past, dim] (zeros when
     * past = 0, where the term is 0).
     *
     * @param ctx row-major [rows ≥ seen, dim]
     * @param dim the ctx width
     * @param past the number of past classes
     * @param seen the end of the current classes
     * @param gradCurrent the gradient of the current rows, overwritten
     * @return the term's value
     */
    public static double orthogonality(float[] ctx, int dim, int past, int seen, float[] gradCurrent) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(gradCurrent, "gradCurrent");
        if (dim < 1 || past < 0 || past > seen || (long) seen * dim > ctx.length) {
            throw new IllegalArgumentException("orthogonality: need dim ≥ 1 and 0 ≤ past (" + past + ") ≤ seen (" + seen
                    + ") with seen × dim ≤ " + ctx.length);
        }
        int cur = seen - past;
        if (gradCurrent.length != cur * dim) {
            throw new IllegalArgumentException("orthogonality: gradCurrent has " + gradCurrent.length
                    + " values, expected " + cur + " × " + dim);
        }
        Arrays.fill(gradCurrent, 0f);
        if (past == 0 || cur == 0) return 0;
        double pairs = (double) cur * past, total = 0;
        double[] g = new double[dim];
        for (int i = past; i < seen; i++) {
            Arrays.fill(g, 0);
            for (int j = 0; j < past; j++) {
                double dot = 0;
                for (int k = 0; k < dim; k++) dot += (double) ctx[i * dim + k] * ctx[j * dim + k];
                total += dot * dot;
                double coef = 2 * dot / pairs;
                for (int k = 0; k < dim; k++) g[k] += coef * ctx[j * dim + k];
            }
            for (int k = 0; k < dim; k++) gradCurrent[(i - past) * dim + k] = (float) g[k];
        }
        return total / pairs;
    }

    // ------------------------------------------------------------------ end of task

    /**
     * The end of a task (ALGORITHM.md §3.5): fits one mixture per current class on its raw CLIP features
     * (float64, {@link FirstStageConfig#mixtureOptions}, one seed per class from rnd, in class
     * order), keeps them (past mixtures are never refitted), then aligns the current ctx: for
     * alignEpochs epochs, samplesPerClass fresh samples from the mixture of every seen class,
     * shuffled, in batches of replayBatch (the last partial kept); per batch the CE of
     * exp(logitScale)·cos(sample, k_c) over all seen classes (no masking, no ortho), past keys
     * fixed, one SGD step (alignLr) on the current ctx rows. Finally the unit keys of the current
     * classes are computed and fixed: they are what {@link #keys} returns from then on.
     *
     * @param featuresPerCurrentClass for every class c in [past, seen) exactly, its raw CLIP
     *                                features [n_c, d] row-major (n_c ≥ mogComponents)
     * @param past the first current class
     * @param seen the end of the current classes
     * @param rnd                     drives the mixture seeds, the sampling and the shuffles
     * @throws IllegalArgumentException for a bad class range or features
     * @throws IllegalStateException    if a current key is already fixed or a past class has no
     *                                  mixture (its endTask did not run)
     */
    public void endTask(Map<Integer, float[]> featuresPerCurrentClass, int past, int seen, RandomGenerator rnd) {
        ensureOpen("endTask");
        Objects.requireNonNull(featuresPerCurrentClass, "featuresPerCurrentClass");
        Objects.requireNonNull(rnd, "rnd");
        checkRange("endTask", past, seen);
        checkNotFixed("endTask", past, seen);
        for (int c = 0; c < past; c++) {
            if (mixtures[c] == null || !keyFixed[c]) {
                throw new IllegalStateException("endTask: past class " + c
                        + " has no mixture and key (endTask did not run for its task)");
            }
        }
        for (Integer c : featuresPerCurrentClass.keySet()) {
            if (c == null || c < past || c >= seen) {
                throw new IllegalArgumentException("endTask: features given for class " + c + ", outside the current classes ["
                        + past + ", " + seen + ")");
            }
        }
        GaussianMixture[] fitted = new GaussianMixture[seen - past];
        for (int c = past; c < seen; c++) {
            float[] x = featuresPerCurrentClass.get(c);
            if (x == null) throw new IllegalArgumentException("endTask: no features for current class " + c);
            if (x.length == 0 || x.length % featureDim != 0) {
                throw new IllegalArgumentException("endTask: features of class " + c + " have " + x.length
                        + " values, not a positive multiple of d = " + featureDim);
            }
            fitted[c - past] = GaussianMixture.fit(x, x.length / featureDim, featureDim, cfg.mixtureOptions(density),
                    rnd.nextLong());
        }
        System.arraycopy(fitted, 0, mixtures, past, fitted.length);
        align(past, seen, rnd);
        fixKeys(past, seen);
    }

    /** The key alignment in divergence messages. */
    static final String ALIGNMENT_PHASE = "first-stage key alignment";

    /** The generative-replay alignment of the current ctx (ALGORITHM.md §3.5.2). */
    private void align(int past, int seen, RandomGenerator rnd) {
        lastAlignmentLosses.clear();
        int cur = seen - past, d = featureDim, perClass = cfg.samplesPerClass();
        int[][] ids = Arrays.copyOfRange(promptIds, past, seen);
        Tensor ctxCur = ctx.rows(past, cur);
        float scale = clip.logitScale();
        try (TensorScope task = TensorScope.open()) {
            Tensor pastKeys = past > 0 ? be.fromArray(Arrays.copyOf(keyCache, past * d), past, d) : null;
            for (int epoch = 0; epoch < cfg.alignEpochs(); epoch++) {
                int e = epoch;
                double loss = ReplayEpoch.run(mixtures, seen, perClass, d, cfg.replayBatch(), rnd, (x, y, step) -> {
                    try {
                        return alignStep(x, y, pastKeys, ids, ctxCur, past, seen, scale);
                    } catch (TrainingDivergedException ex) {
                        throw ex.at(ALIGNMENT_PHASE, -1, e, step);
                    }
                });
                lastAlignmentLosses.add((float) loss);
            }
        }
    }

    private float alignStep(float[] x, int[] y, Tensor pastKeys, int[][] ids, Tensor ctxCur, int past, int seen,
            float scale) {
        int cur = seen - past;
        try (TensorScope ignored = TensorScope.open()) {
            Tensor feats = be.fromArray(x, y.length, featureDim);
            Tensor allKeys = be.empty(seen, featureDim);
            if (pastKeys != null) be.copy(pastKeys, allKeys.rows(0, past));
            try (TextActivations act = clip.textForward(ids, ctxCur, CONTEXT_POSITION)) {
                be.copy(act.features(), allKeys.rows(past, cur));
                try (ClipLogits z = ClipLogits.compute(be, feats, allKeys, scale)) {
                    Tensor dLogits = be.empty(z.logits().shape());
                    float loss = be.crossEntropy(z.logits(), y, 0, seen, dLogits);
                    Tensor dKeys = z.textGradient(dLogits);
                    Tensor dCtx = clip.textBackward(act, dKeys.rows(past, cur));
                    FiniteCheck.loss(loss);
                    FiniteCheck.gradients(be, CTX_GRADIENT, List.of(dCtx));
                    be.sgdStep(ctxCur, dCtx, cfg.alignLr(), 0f);
                    return loss;
                }
            }
        }
    }

    private void fixKeys(int past, int seen) {
        float[] unit = unitKeys(past, seen);
        System.arraycopy(unit, 0, keyCache, past * featureDim, unit.length);
        Arrays.fill(keyFixed, past, seen, true);
    }

    /** Unit keys of classes [from, to) from the current ctx, no gradient. */
    private float[] unitKeys(int from, int to) {
        float[] host;
        try (TensorScope ignored = TensorScope.open()) {
            host = be.toFloatArray(clip.textFeatures(Arrays.copyOfRange(promptIds, from, to),
                    ctx.rows(from, to - from), CONTEXT_POSITION));
        }
        CosineClassifier.normalizeRows(host, featureDim);
        return host;
    }

    // ------------------------------------------------------------------ state

    /**
     * Stores what the first stage carries from task to task under {@code prefix}: ctx
     * [C, 1, D_txt] (future classes' rows still at their initial values), the fixed keys [C, d],
     * which keys are fixed ([C], 1 or 0), and the mixture of every class that has one.
     *
     * @param state the state to add to
     * @param prefix the names' prefix
     */
    public void saveTo(MethodState state, String prefix) {
        ensureOpen("saveTo");
        state.putFloats(prefix + "ctx", be.toFloatArray(ctx), classes, 1, textWidth);
        state.putFloats(prefix + "keys", keyCache, classes, featureDim);
        float[] fixed = new float[classes];
        for (int c = 0; c < classes; c++) fixed[c] = keyFixed[c] ? 1f : 0f;
        state.putFloats(prefix + "key_fixed", fixed, classes);
        for (int c = 0; c < classes; c++) {
            if (mixtures[c] != null) mixtures[c].saveTo(state, prefix + "mixture." + c + ".");
        }
    }

    /**
     * Restores what {@link #saveTo} stored under prefix into this first stage (same classes and
     * CLIP).
     *
     * @param state the state to read
     * @param prefix the names' prefix
     * @throws CheckpointException if an entry is missing or of another shape
     */
    public void restoreFrom(MethodState state, String prefix) {
        ensureOpen("restoreFrom");
        loadCtx(state.floats(prefix + "ctx", classes, 1, textWidth));
        float[] keys = state.floats(prefix + "keys", classes, featureDim);
        float[] fixed = state.floats(prefix + "key_fixed", classes);
        GaussianMixture[] restored = new GaussianMixture[classes];
        for (int c = 0; c < classes; c++) {
            String mixture = prefix + "mixture." + c + ".";
            if (state.has(mixture + "weights")) restored[c] = GaussianMixture.restoreFrom(state, mixture, featureDim);
        }
        System.arraycopy(keys, 0, keyCache, 0, keys.length);
        for (int c = 0; c < classes; c++) keyFixed[c] = fixed[c] != 0f;
        System.arraycopy(restored, 0, mixtures, 0, classes);
    }

    // ------------------------------------------------------------------ keys

    /**
     * Unit keys [seen, d] of classes [0, seen): fixed keys from the cache, the others computed
     * from the current ctx (no gradient). A new tensor in the current scope.
     *
     * @param seen the classes [0, seen)
     * @return the keys
     */
    public Tensor keys(int seen) {
        ensureOpen("keys");
        if (seen < 1 || seen > classes) throw new IllegalArgumentException("keys: seen = " + seen + " outside [1, " + classes + "]");
        float[] out = Arrays.copyOf(keyCache, seen * featureDim);
        int first = 0;
        while (first < seen && keyFixed[first]) first++;
        if (first < seen) {
            float[] fresh = unitKeys(first, seen);
            for (int c = first; c < seen; c++) {
                if (!keyFixed[c]) {
                    System.arraycopy(fresh, (c - first) * featureDim, out, c * featureDim, featureDim);
                }
            }
        }
        return be.fromArray(out, seen, featureDim);
    }

    /**
     * The fixed unit keys of classes [0, seen), row-major [seen, d] (a copy), for saving.
     *
     * @param seen the classes [0, seen)
     * @return the keys
     * @throws IllegalStateException if one of them is not fixed yet
     */
    public float[] cachedKeys(int seen) {
        ensureOpen("cachedKeys");
        if (seen < 1 || seen > classes) {
            throw new IllegalArgumentException("cachedKeys: seen = " + seen + " outside [1, " + classes + "]");
        }
        for (int c = 0; c < seen; c++) {
            if (!keyFixed[c]) throw new IllegalStateException("cachedKeys: the key of class " + c + " is not fixed yet");
        }
        return Arrays.copyOf(keyCache, seen * featureDim);
    }

    /**
     * The fixed keys of classes [0, seen) as a {@link KeyStore} (see {@link #cachedKeys}).
     *
     * @param seen the classes [0, seen)
     * @return the key store
     */
    public KeyStore keyStore(int seen) {
        return new KeyStore(seen, featureDim, cachedKeys(seen));
    }

    /**
     * The result of stage 1 for the two-run variant (ALGORITHM.md §5): the fixed unit keys [seen, d] of
     * the first {@code seen} classes, saved as one F32 safetensors tensor {@value #TENSOR}.
     *
     * @param seen number of classes
     * @param dim  d
     * @param keys row-major [seen, dim]
     */
    public record KeyStore(int seen, int dim, float[] keys) {
        /** Name of the keys tensor in the file. */
        public static final String TENSOR = "stage1.keys";

        /**
         * Validates the sizes and that every value is finite; keeps a copy.
         *
         * @param seen the classes [0, seen) the keys belong to
         * @param dim the key width d
         * @param keys the keys, row-major [seen, dim]
         */
        public KeyStore {
            Objects.requireNonNull(keys, "keys");
            if (seen < 1 || dim < 1 || keys.length != (long) seen * dim) {
                throw new IllegalArgumentException("key store: " + keys.length + " values for " + seen + " × " + dim);
            }
            checkFinite("key store", keys);
            keys = keys.clone();
        }

        /**
         * A copy of the keys, row-major [seen, dim].
         *
         * @return the keys
         */
        @Override
        public float[] keys() {
            return keys.clone();
        }

        /**
         * The keys as a new tensor [seen, dim] on be, in the current scope.
         *
         * @param be the backend to put them on
         * @return the tensor
         */
        public Tensor toTensor(Backend be) {
            return be.fromArray(keys, seen, dim);
        }

        /**
         * Writes (or overwrites) a safetensors file with the keys [seen, dim].
         *
         * @param path the file
         * @throws IOException if it cannot be written
         */
        public void writeTo(Path path) throws IOException {
            SafetensorsWriter.write(path, Map.of(TENSOR, keys), Map.of(TENSOR, new long[] {seen, dim}),
                    Map.of("format", "starprompt-stage1-keys"));
        }

        /**
         * Reads a file written by {@link #writeTo}.
         *
         * @param path the file
         * @return the keys
         * @throws IllegalArgumentException if the tensor is missing or not two-dimensional
         * @throws IOException if it cannot be read
         */
        public static KeyStore readFrom(Path path) throws IOException {
            try (SafetensorsFile file = SafetensorsFile.open(path)) {
                long[] shape = file.info(TENSOR).shape();
                if (shape.length != 2) {
                    throw new IllegalArgumentException(path + ": tensor " + TENSOR + " has shape " + Arrays.toString(shape)
                            + ", expected [seen, d]");
                }
                return new KeyStore(Math.toIntExact(shape[0]), Math.toIntExact(shape[1]), file.readFloats(TENSOR, shape));
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof KeyStore k && k.seen == seen && k.dim == dim && Arrays.equals(k.keys, keys);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * seen + dim) + Arrays.hashCode(keys);
        }

        @Override
        public String toString() {
            return "KeyStore[" + seen + " × " + dim + "]";
        }
    }

    // ------------------------------------------------------------------ checks

    /** The model is open, the class range is current and the batch matches it (one current label per row). */
    private void checkTraining(String op, Tensor features, int[] labels, int past, int seen) {
        ensureOpen(op);
        checkRange(op, past, seen);
        checkNotFixed(op, past, seen);
        Objects.requireNonNull(labels, "labels");
        if (features == null) throw new IllegalArgumentException(op + ": features are null");
        if (features.rank() != 2 || features.dim(0) != labels.length || features.dim(1) != featureDim) {
            throw new IllegalArgumentException(op + ": features " + features + " must be [" + labels.length + ", "
                    + featureDim + "] (one row per label)");
        }
        for (int b = 0; b < labels.length; b++) {
            if (labels[b] < past || labels[b] >= seen) {
                throw new IllegalArgumentException(op + ": label " + labels[b] + " of sample " + b
                        + " is not a current class [" + past + ", " + seen + ")");
            }
        }
    }

    private void checkRange(String op, int past, int seen) {
        if (past < 0 || past >= seen || seen > classes) {
            throw new IllegalArgumentException(op + ": need 0 ≤ past (" + past + ") < seen (" + seen + ") ≤ classes ("
                    + classes + ")");
        }
    }

    private void checkNotFixed(String op, int past, int seen) {
        for (int c = past; c < seen; c++) {
            if (keyFixed[c]) {
                throw new IllegalStateException(op + ": class " + c + " is not a current class any more (endTask fixed its key)");
            }
        }
    }

    private void checkClass(int c) {
        if (c < 0 || c >= classes) throw new IllegalArgumentException("class " + c + " outside [0, " + classes + ")");
    }

    private static void checkFinite(String what, float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) throw new IllegalArgumentException(what + ": value " + i + " is " + v[i]);
        }
    }


    private void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": this FirstStage is closed");
    }

    /** Frees the ctx parameter (not the CLIP model). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        ctx.close();
    }

    @Override
    public String toString() {
        return "FirstStage(" + classes + " classes, d = " + featureDim + ", " + cfg + ")";
    }
}
