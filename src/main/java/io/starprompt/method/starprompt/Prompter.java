package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.method.common.Orthogonal;
import io.starprompt.method.prompting.PromptInjection;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The second-stage prompt pools of every layer: modulation logits A [L, C, d] and prompts
 * P [L, C, W] (ALGORITHM.md §4.1; W = D for residual prompts), and the retrieval of each sample's
 * super-prompt per layer (§4.3). Owns its two parameter tensors.
 */
public final class Prompter implements AutoCloseable {
    private final Backend be;
    private final Tensor modulation;
    private final Tensor prompts;
    private final boolean modulate;

    private Prompter(Backend be, Tensor modulation, Tensor prompts, boolean modulate) {
        this.be = be;
        this.modulation = TensorScope.detach(modulation);
        this.prompts = TensorScope.detach(prompts);
        this.modulate = modulate;
    }

    /**
     * Initialisation of ALGORITHM.md §4.1, §4.5: each A^l an orthogonal C × d matrix, each P^l the
     * injection's initial rows; both drawn layer by layer from one generator seeded by seed.
     *
     * @param be the backend
     * @param layers L
     * @param classes C
     * @param queryDim d
     * @param injection how the prompts enter the ViT (their rows' width and initial values)
     * @param confidenceModulation whether a retrieved prompt is scaled by its similarity
     * @param seed the initialisation seed
     * @return the prompter
     */
    public static Prompter initialised(Backend be, int layers, int classes, int queryDim, PromptInjection injection,
            boolean confidenceModulation, long seed) {
        Random rnd = new Random(seed);
        int width = injection.rowWidth();
        float[] a = new float[layers * classes * queryDim];
        float[] p = new float[layers * classes * width];
        for (int l = 0; l < layers; l++) {
            copyInto(Orthogonal.rows(classes, queryDim, rnd), a, l * classes * queryDim);
            copyInto(injection.initialRows(classes, rnd), p, l * classes * width);
        }
        return new Prompter(be, be.fromArray(a, layers, classes, queryDim), be.fromArray(p, layers, classes, width),
                confidenceModulation);
    }

    private static void copyInto(double[] from, float[] to, int offset) {
        for (int i = 0; i < from.length; i++) to[offset + i] = (float) from[i];
    }

    /**
     * Wraps given parameters A [L,C,d] and P [L,C,D]; the prompter takes ownership.
     *
     * @param be the backend
     * @param modulation A [L, C, d]
     * @param prompts P [L, C, D]
     * @param confidenceModulation whether a retrieved prompt is scaled by its similarity
     * @return the prompter
     */
    public static Prompter of(Backend be, Tensor modulation, Tensor prompts, boolean confidenceModulation) {
        if (modulation.rank() != 3 || prompts.rank() != 3 || modulation.dim(0) != prompts.dim(0)
                || modulation.dim(1) != prompts.dim(1)) {
            throw new IllegalArgumentException("prompter: A " + modulation + " and P " + prompts
                    + " must be [L, C, d] and [L, C, D]");
        }
        return new Prompter(be, modulation, prompts, confidenceModulation);
    }

    /**
     * The modulation logits A [L, C, d] (owned; a trainable parameter).
     *
     * @return A
     */
    public Tensor modulation() {
        return modulation;
    }

    /**
     * The prompt pools P [L, C, W] (owned; a trainable parameter).
     *
     * @return P
     */
    public Tensor prompts() {
        return prompts;
    }

    /**
     * L, the prompted layers.
     *
     * @return L
     */
    public int layers() {
        return (int) prompts.dim(0);
    }

    /**
     * C, the classes of every pool.
     *
     * @return C
     */
    public int classes() {
        return (int) prompts.dim(1);
    }

    /**
     * One batch's selection: similarities [L,B,seen], chosen classes [L,B], super-prompts (the
     * selected rows, confidence-weighted) [L,B,W]; close to free them.
     */
    public record Retrieval(RetrievalInputs inputs, Tensor sims, Tensor selected, Tensor superPrompts)
            implements AutoCloseable {
        /**
         * The super-prompt of layer l, [B, D] (a view).
         *
         * @param l the layer
         * @return its super-prompts
         */
        public Tensor layer(int l) {
            int b = (int) superPrompts.dim(1);
            return superPrompts.rows(l, 1).reshape(b, superPrompts.dim(2));
        }

        /**
         * All layers' super-prompts as views, for the ViT's residual prompts.
         *
         * @return one view per layer
         */
        public List<Tensor> perLayer() {
            List<Tensor> out = new ArrayList<>();
            for (int l = 0; l < superPrompts.dim(0); l++) out.add(layer(l));
            return out;
        }

        @Override
        public void close() {
            sims.close();
            selected.close();
            superPrompts.close();
        }
    }

    /**
     * Selects, for every layer and sample, the prompt of the best-matching seen class.
     *
     * @param queries raw CLIP queries [B, d]
     * @param keys unit keys of the seen classes [seen, d]
     * @param seen the classes taking part
     * @return the retrieval; close it
     */
    public Retrieval retrieve(Tensor queries, Tensor keys, int seen) {
        RetrievalInputs in = new RetrievalInputs(queries, keys, modulation, prompts, seen, modulate);
        int b = in.batch();
        Tensor sims = be.empty(layers(), b, seen);
        Tensor sel = be.empty(DType.I32, layers(), b);
        Tensor sp = be.empty(layers(), b, prompts.dim(2));
        be.retrieval(in, sims, sel, sp);
        return new Retrieval(in, sims, sel, sp);
    }

    /**
     * Gradients of A and P (overwritten) from the super-prompt gradients dsp [L,B,D].
     *
     * @param r the forward's retrieval
     * @param dsp gradient of the super-prompts
     * @param past classes below this get no gradient
     * @param dA gradient of A
     * @param dP gradient of P
     */
    public void backward(Retrieval r, Tensor dsp, int past, Tensor dA, Tensor dP) {
        be.retrievalBackward(r.inputs(), r.sims(), r.selected(), dsp, past, dA, dP);
    }

    @Override
    public void close() {
        modulation.close();
        prompts.close();
    }
}
