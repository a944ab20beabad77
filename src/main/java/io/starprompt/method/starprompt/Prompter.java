package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.method.common.Orthogonal;
import io.starprompt.method.common.OrthogonalityLoss;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The second-stage prompt pools of every layer: modulation logits A [L, C, d] and residual value
 * prompts P [L, C, D] (spec §4.1), retrieval of each sample's super-prompt per layer (§4.3) and
 * the orthogonality regulariser (§4.6). Owns its two parameter tensors.
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
     * Spec initialisation: each A^l an orthogonal C × d matrix; each P^l the first D columns of
     * an orthogonal C × 3D matrix (rows therefore not unit-norm: the ortho loss is active from
     * the start, as in the reference).
     */
    public static Prompter initialised(Backend be, int layers, int classes, int queryDim, int promptDim,
            boolean confidenceModulation, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[layers * classes * queryDim];
        float[] p = new float[layers * classes * promptDim];
        for (int l = 0; l < layers; l++) {
            double[] al = Orthogonal.rows(classes, queryDim, rnd);
            for (int i = 0; i < al.length; i++) a[l * classes * queryDim + i] = (float) al[i];
            double[] wide = Orthogonal.rows(classes, 3 * promptDim, rnd);
            for (int c = 0; c < classes; c++) {
                for (int k = 0; k < promptDim; k++) {
                    p[(l * classes + c) * promptDim + k] = (float) wide[c * 3 * promptDim + k];
                }
            }
        }
        return new Prompter(be, be.fromArray(a, layers, classes, queryDim), be.fromArray(p, layers, classes, promptDim),
                confidenceModulation);
    }

    /** Wraps given parameters A [L,C,d] and P [L,C,D]; the prompter takes ownership. */
    public static Prompter of(Backend be, Tensor modulation, Tensor prompts, boolean confidenceModulation) {
        if (modulation.rank() != 3 || prompts.rank() != 3 || modulation.dim(0) != prompts.dim(0)
                || modulation.dim(1) != prompts.dim(1)) {
            throw new IllegalArgumentException("prompter: A " + modulation + " and P " + prompts
                    + " must be [L, C, d] and [L, C, D]");
        }
        return new Prompter(be, modulation, prompts, confidenceModulation);
    }

    public Tensor modulation() {
        return modulation;
    }

    public Tensor prompts() {
        return prompts;
    }

    public int layers() {
        return (int) prompts.dim(0);
    }

    public int classes() {
        return (int) prompts.dim(1);
    }

    /** One batch's selection: similarities [L,B,seen], chosen classes [L,B], super-prompts [L,B,D]. */
    public record Retrieval(RetrievalInputs inputs, Tensor sims, Tensor selected, Tensor superPrompts) {
        /** The super-prompt of layer l, [B, D] (a view). */
        public Tensor layer(int l) {
            int b = (int) superPrompts.dim(1);
            return superPrompts.rows(l, 1).reshape(b, superPrompts.dim(2));
        }

        /** All layers' super-prompts as views, for the ViT's residual prompts. */
        public List<Tensor> perLayer() {
            List<Tensor> out = new ArrayList<>();
            for (int l = 0; l < superPrompts.dim(0); l++) out.add(layer(l));
            return out;
        }
    }

    /** Selects, for every layer and sample, the prompt of the best-matching seen class. */
    public Retrieval retrieve(Tensor queries, Tensor keys, int seen) {
        RetrievalInputs in = new RetrievalInputs(queries, keys, modulation, prompts, seen, modulate);
        int b = in.batch();
        Tensor sims = be.empty(layers(), b, seen);
        Tensor sel = be.empty(DType.I32, layers(), b);
        Tensor sp = be.empty(layers(), b, prompts.dim(2));
        be.retrieval(in, sims, sel, sp);
        return new Retrieval(in, sims, sel, sp);
    }

    /** Gradients of A and P (overwritten) from the super-prompt gradients dsp [L,B,D]. */
    public void backward(Retrieval r, Tensor dsp, int past, Tensor dA, Tensor dP) {
        be.retrievalBackward(r.inputs(), r.sims(), r.selected(), dsp, past, dA, dP);
    }

    /**
     * Adds weight·∂L_o2/∂P to dP and returns weight·L_o2, with L_o2 the orthogonality loss
     * averaged over layers (zero while there are no past classes).
     */
    public double addOrthogonalityLoss(int seen, int past, float weight, Tensor dP) {
        if (past == 0 || weight == 0) return 0;
        int classes = classes(), dim = (int) prompts.dim(2), layers = layers();
        float[] p = be.toFloatArray(prompts);
        float[] grad = new float[p.length];
        float[] layerGrad = new float[classes * dim];
        double total = 0;
        for (int l = 0; l < layers; l++) {
            float[] pl = java.util.Arrays.copyOfRange(p, l * classes * dim, (l + 1) * classes * dim);
            total += OrthogonalityLoss.secondStage(pl, classes, dim, seen, past, layerGrad);
            for (int i = 0; i < layerGrad.length; i++) grad[l * classes * dim + i] = layerGrad[i] * weight / layers;
        }
        try (Tensor g = be.fromArray(grad, prompts.shape())) {
            be.axpy(dP, g, 1f);
        }
        return weight * total / layers;
    }

    @Override
    public void close() {
        modulation.close();
        prompts.close();
    }
}
