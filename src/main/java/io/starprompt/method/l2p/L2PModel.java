package io.starprompt.method.l2p;

import io.starprompt.backend.Backend;
import io.starprompt.method.MethodState;
import io.starprompt.method.common.LinearHead;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * L2P's trainable state over a frozen ViT (methods/l2p.md §1-§6): the prompt pool P [M, L, D],
 * the keys K [M, D] and the linear head over all C classes, with the loss of one batch and the
 * gradients of all four. The query of an image is the frozen ViT's final-normed [CLS] feature
 * without prompts; each image takes the N prompts whose keys are most cosine-similar to it, the
 * prompted ViT runs over [CLS; prompts; patches], and the head reads the mean of the prompt
 * tokens' outputs. Owns P, K and the head; borrows the ViT.
 */
public final class L2PModel implements AutoCloseable {
    private final VisionTransformer vit;
    private final Backend be;
    private final L2PConfig cfg;
    private final Tensor pool;
    private final Tensor keys;
    private final LinearHead head;

    private L2PModel(VisionTransformer vit, L2PConfig cfg, Tensor pool, Tensor keys, LinearHead head) {
        this.vit = vit;
        this.be = vit.backend();
        this.cfg = cfg;
        this.pool = TensorScope.detach(pool);
        this.keys = TensorScope.detach(keys);
        this.head = head;
    }

    /**
     * P and K ~ U(−1, 1), W ~ N(0, 0.02²), b = 0 (methods/l2p.md §1), all from the seed.
     *
     * @param vit the frozen ViT (borrowed)
     * @param classes C, the head's classes
     * @param cfg the pool's sizes
     * @param seed the initialisation seed
     * @return the model; close it
     */
    public static L2PModel initialised(VisionTransformer vit, int classes, L2PConfig cfg, long seed) {
        if (classes < 1) throw new IllegalArgumentException("L2P: " + classes + " classes");
        Backend be = vit.backend();
        int d = vit.config().width();
        Random rnd = new Random(seed);
        Tensor pool = be.fromArray(uniform(rnd, cfg.poolSize() * cfg.promptLength() * d), cfg.poolSize(),
                cfg.promptLength(), d);
        Tensor keys = be.fromArray(uniform(rnd, cfg.poolSize() * d), cfg.poolSize(), d);
        return new L2PModel(vit, cfg, pool, keys, LinearHead.initialised(be, classes, d, rnd.nextLong()));
    }

    private static float[] uniform(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (2 * rnd.nextDouble() - 1);
        return v;
    }

    /**
     * The frozen ViT.
     *
     * @return the ViT
     */
    public VisionTransformer vit() {
        return vit;
    }

    /**
     * P, K, W and b, in the order of {@link Result#gradients()}.
     *
     * @return the trainable tensors
     */
    public List<Tensor> parameters() {
        return List.of(pool, keys, head.weight(), head.bias());
    }

    /**
     * The query of every image: the frozen ViT's final-normed [CLS] feature without prompts
     * (methods/l2p.md §2), [B, D], in the current scope.
     *
     * @param images the ViT input [B, C, H, W]
     * @return the queries
     */
    public Tensor queries(Tensor images) {
        return vit.encodePooled(images, Prompts.none());
    }

    /** The cosine scores [B, M] and the chosen prompts [B, N] of a batch, in the current scope. */
    private record Selection(Tensor scores, Tensor selected) {}

    private Selection select(Tensor queries) {
        long batch = queries.dim(0);
        Tensor scores = be.empty(batch, cfg.poolSize());
        Tensor selected = be.empty(DType.I32, batch, cfg.topN());
        be.cosineMatch(queries, keys, cfg.topN(), cfg.batchwisePrompt(), scores, selected);
        return new Selection(scores, selected);
    }

    /**
     * Class scores [B, C] of every image (inference: nothing kept for a backward pass), in the
     * current scope.
     *
     * @param images the ViT input [B, C, H, W]
     * @param queries their queries [B, D] ({@link #queries})
     * @return the logits
     */
    public Tensor logits(Tensor images, Tensor queries) {
        try (TensorScope scope = TensorScope.open()) {
            Prompts prompts = Prompts.input(pool, select(queries).selected());
            Tensor features = vit.promptMean(vit.encode(images, prompts), prompts);
            return scope.retain(head.forward(features));
        }
    }

    /**
     * The loss of one batch, L = CE − λ·R (methods/l2p.md §6), and the gradients of P, K, W and b.
     * The cross-entropy covers the classes [past, seen) only: logits below past count as −∞,
     * those from seen on are dropped. R = (1/B) Σ_b Σ_{j chosen by b} cos(q_b, k_j).
     *
     * @param images the ViT input [B, C, H, W]
     * @param queries their queries [B, D]
     * @param labels one label per image, in [past, seen)
     * @param past the first class of the loss
     * @param seen the end of the loss's classes
     * @return the loss and the gradients; close it
     */
    public Result lossAndGradients(Tensor images, Tensor queries, int[] labels, int past, int seen) {
        int batch = labels.length;
        Result r = new Result(gradientBuffers());
        try (TensorScope scope = TensorScope.open()) {
            Selection s = select(queries);
            Prompts prompts = Prompts.input(pool, s.selected());
            try (Activations act = vit.forward(images, prompts)) {
                Tensor features = vit.promptMean(act.tokens(), prompts);
                Tensor logits = head.forward(features);
                Tensor dLogits = be.empty(logits.shape());
                r.crossEntropy = be.crossEntropy(logits, labels, past, seen, dLogits);
                Tensor dFeatures = head.backward(features, dLogits, r.dWeight(), r.dBias());
                try (PromptGradients g = vit.backwardPromptMean(act, dFeatures, false)) {
                    be.copy(g.input(), r.dPool());
                }
            }
            r.pull = pull(s, batch);
            Tensor dChosen = be.fromArray(filled(batch * cfg.topN(), -cfg.pullWeight() / batch), batch, cfg.topN());
            be.cosineMatchBackward(queries, keys, s.selected(), dChosen, r.dKeys(), null);
            return r;
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
    }

    /** R = (1/B) Σ_b Σ_n scores[b, selected[b, n]], read on the host ([B, M] and [B, N] are small). */
    private double pull(Selection s, int batch) {
        float[] scores = be.toFloatArray(s.scores());
        int[] selected = be.toIntArray(s.selected());
        double sum = 0;
        for (int i = 0; i < selected.length; i++) sum += scores[(i / cfg.topN()) * cfg.poolSize() + selected[i]];
        return sum / batch;
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        Arrays.fill(v, value);
        return v;
    }

    private List<Tensor> gradientBuffers() {
        return parameters().stream().map(p -> TensorScope.detach(be.empty(p.shape()))).toList();
    }

    /** The loss of one batch and the gradients of P, K, W and b (owned: close it). */
    public final class Result implements AutoCloseable {
        private final List<Tensor> gradients;
        private double crossEntropy;
        private double pull;

        private Result(List<Tensor> gradients) {
            this.gradients = gradients;
        }

        /**
         * L = CE − λ·R.
         *
         * @return the loss
         */
        public double loss() {
            return crossEntropy - cfg.pullWeight() * pull;
        }

        /**
         * The masked cross-entropy, mean over the batch.
         *
         * @return CE
         */
        public double crossEntropy() {
            return crossEntropy;
        }

        /**
         * R, the batch mean of the summed cosine similarities of the chosen keys.
         *
         * @return R
         */
        public double pull() {
            return pull;
        }

        /**
         * The gradients of P, K, W and b, in the order of {@link #parameters()}.
         *
         * @return the gradients
         */
        public List<Tensor> gradients() {
            return gradients;
        }

        /**
         * ∂L/∂P [M, L, D].
         *
         * @return the gradient
         */
        public Tensor dPool() {
            return gradients.get(0);
        }

        /**
         * ∂L/∂K [M, D].
         *
         * @return the gradient
         */
        public Tensor dKeys() {
            return gradients.get(1);
        }

        /**
         * ∂L/∂W [C, D].
         *
         * @return the gradient
         */
        public Tensor dWeight() {
            return gradients.get(2);
        }

        /**
         * ∂L/∂b [C].
         *
         * @return the gradient
         */
        public Tensor dBias() {
            return gradients.get(3);
        }

        @Override
        public void close() {
            gradients.forEach(Tensor::close);
        }
    }

    /** P, K, W, b under their state names. */
    private Map<String, Tensor> namedParameters(String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        List<Tensor> p = parameters();
        String[] names = {"pool", "keys", "head.weight", "head.bias"};
        for (int i = 0; i < names.length; i++) m.put(prefix + names[i], p.get(i));
        return m;
    }

    /**
     * Stores P, K, W and b in the state under prefix.
     *
     * @param state the state to add to
     * @param prefix the names' prefix
     * @return the state
     */
    public MethodState saveTo(MethodState state, String prefix) {
        namedParameters(prefix).forEach((name, t) -> state.putFloats(name, be.toFloatArray(t), t.shape()));
        return state;
    }

    /**
     * Overwrites P, K, W and b with what {@link #saveTo} stored under prefix; nothing changes
     * unless every entry is present and of the right shape.
     *
     * @param state the state to read
     * @param prefix the names' prefix
     * @throws io.starprompt.method.CheckpointException if an entry is missing or shaped for another model
     */
    public void restoreFrom(MethodState state, String prefix) {
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, Tensor> params = namedParameters(prefix);
        params.forEach((name, t) -> values.put(name, state.floats(name, t.shape())));
        params.forEach((name, t) -> {
            try (Tensor src = be.fromArray(values.get(name), t.shape())) {
                be.copy(src, t);
            }
        });
    }

    /**
     * The shapes of P, K and the head, in words.
     *
     * @return the description
     */
    public String shapes() {
        return "pool " + Arrays.toString(pool.shape()) + ", keys " + Arrays.toString(keys.shape()) + ", head "
                + Arrays.toString(head.weight().shape());
    }

    @Override
    public void close() {
        pool.close();
        keys.close();
        head.close();
    }
}
