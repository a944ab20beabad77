package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.method.common.LinearHead;
import io.starprompt.method.common.Orthogonal;
import io.starprompt.method.common.OrthogonalityLoss;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The second-stage model in one prompt mode: CLIP-query retrieval over the seen classes, the
 * frozen ViT with the retrieved prompts, the linear head. Borrows the ViT; owns the prompter and
 * the head.
 *
 * <ul>
 *   <li>{@link StarPromptConfig.PromptMode#RESIDUAL} (STAR-Prompt, §4.4): P^l [C, D], the
 *       super-prompt is added to the values of every token; training delegates to {@link SecondStage}.
 *   <li>{@link StarPromptConfig.PromptMode#CONCAT} (prefix-tuning ablation, §4.5): P^l holds
 *       [C, 2·L_p·D] (row c = L_p key vectors then L_p value vectors, orthogonal C × 2L_pD init);
 *       the same retrieval and confidence weighting select one row per sample and layer, whose halves
 *       are prepended to the keys and values in head space. The orthogonality loss is applied to the
 *       key half and the value half separately (each flattened to C × L_pD) and summed.
 * </ul>
 */
public final class PromptedClassifier implements AutoCloseable {
    private final Backend be;
    private final VisionTransformer vit;
    private final Prompter prompter;
    private final LinearHead head;
    private final StarPromptConfig.PromptMode mode;
    private final int prefixLength;
    private final SecondStage residualStage;

    private PromptedClassifier(VisionTransformer vit, Prompter prompter, LinearHead head,
            StarPromptConfig.PromptMode mode, int prefixLength) {
        this.be = vit.backend();
        this.vit = vit;
        this.prompter = prompter;
        this.head = head;
        this.mode = mode;
        this.prefixLength = prefixLength;
        this.residualStage = mode == StarPromptConfig.PromptMode.RESIDUAL ? new SecondStage(vit, prompter, head) : null;
        int expected = mode == StarPromptConfig.PromptMode.RESIDUAL ? vit.config().width()
                : 2 * prefixLength * vit.config().width();
        if (prompter.prompts().dim(2) != expected) {
            throw new IllegalArgumentException("prompted classifier: " + mode + " prompts need rows of " + expected
                    + " values, got " + prompter.prompts());
        }
    }

    /**
     * Fresh parameters for C classes (spec §4.1, §4.5, §2.2): A^l orthogonal, P^l per mode, head
     * W ~ N(0, 0.02²), b = 0.
     */
    public static PromptedClassifier initialised(VisionTransformer vit, int classes, int queryDim,
            StarPromptConfig cfg, long seed) {
        Backend be = vit.backend();
        int layers = vit.config().depth(), width = vit.config().width();
        Prompter prompter;
        if (cfg.promptMode() == StarPromptConfig.PromptMode.RESIDUAL) {
            prompter = Prompter.initialised(be, layers, classes, queryDim, width, cfg.confidenceModulation(), seed);
        } else {
            int dp = 2 * cfg.prefixLength() * width;
            if (classes > dp) {
                throw new IllegalArgumentException("prefix prompts: " + classes + " classes exceed the " + dp
                        + " columns an orthogonal init needs");
            }
            Random rnd = new Random(seed);
            float[] a = new float[layers * classes * queryDim], p = new float[layers * classes * dp];
            for (int l = 0; l < layers; l++) {
                double[] al = Orthogonal.rows(classes, queryDim, rnd);
                for (int i = 0; i < al.length; i++) a[l * classes * queryDim + i] = (float) al[i];
                double[] pl = Orthogonal.rows(classes, dp, rnd);
                for (int i = 0; i < pl.length; i++) p[l * classes * dp + i] = (float) pl[i];
            }
            prompter = Prompter.of(be, be.fromArray(a, layers, classes, queryDim), be.fromArray(p, layers, classes, dp),
                    cfg.confidenceModulation());
        }
        LinearHead head = LinearHead.initialised(be, classes, width, seed ^ 0x5DEECE66DL);
        return new PromptedClassifier(vit, prompter, head, cfg.promptMode(), cfg.prefixLength());
    }

    /** Wraps existing parameters (takes ownership of prompter and head). */
    public static PromptedClassifier of(VisionTransformer vit, Prompter prompter, LinearHead head,
            StarPromptConfig.PromptMode mode, int prefixLength) {
        return new PromptedClassifier(vit, prompter, head, mode, prefixLength);
    }

    public Prompter prompter() {
        return prompter;
    }

    public LinearHead head() {
        return head;
    }

    public VisionTransformer vit() {
        return vit;
    }

    public StarPromptConfig.PromptMode mode() {
        return mode;
    }

    public int classes() {
        return prompter.classes();
    }

    /** The trainable tensors in optimiser order: A, P, W, b. */
    public List<Tensor> parameters() {
        return List.of(prompter.modulation(), prompter.prompts(), head.weight(), head.bias());
    }

    // ------------------------------------------------------------------ training

    /** Loss and gradients of A, P, W, b for one batch (spec §4.2–§4.6 without the ortho term). */
    public SecondStage.Result lossAndGradients(Tensor images, Tensor queries, Tensor keys, int[] labels,
            SecondStage.ClassRange range) {
        if (mode == StarPromptConfig.PromptMode.RESIDUAL) {
            return residualStage.lossAndGradients(images, queries, keys, labels, range);
        }
        Prompter.Retrieval r = prompter.retrieve(queries, keys, range.seen());
        int layers = prompter.layers(), batch = (int) queries.dim(0);
        try (TensorScope scope = TensorScope.open()) {
            List<Tensor> pk = new ArrayList<>(), pv = new ArrayList<>();
            split(r, batch, pk, pv);
            try (Activations act = vit.forwardPooled(images, Prompts.prefix(pk, pv))) {
                Tensor logits = scope.retain(head.forward(act.pooled()));
                Tensor dLogits = be.empty(logits.shape());
                float loss = be.crossEntropy(logits, labels, range.lossFrom(), range.seen(), dLogits);
                Tensor dW = scope.retain(be.empty(head.weight().shape()));
                Tensor db = scope.retain(be.empty(head.bias().shape()));
                Tensor dPooled = head.backward(act.pooled(), dLogits, dW, db);
                Tensor dsp = be.zeros(r.superPrompts().shape());
                try (PromptGradients g = vit.backwardPooled(act, dPooled, false)) {
                    for (int l = 0; l < layers; l++) join(g.prefixKeys(l), g.prefixValues(l), dsp, l, batch);
                }
                Tensor dA = scope.retain(be.empty(prompter.modulation().shape()));
                Tensor dP = scope.retain(be.empty(prompter.prompts().shape()));
                prompter.backward(r, dsp, range.past(), dA, dP);
                return new SecondStage.Result(loss, logits, dA, dP, dW, db);
            }
        } finally {
            r.sims().close();
            r.selected().close();
            r.superPrompts().close();
        }
    }

    /**
     * Adds weight·∂L_o2/∂P to dP and returns weight·L_o2 (zero while there are no past classes).
     * Concat mode: L^l = L(P_k^l) + L(P_v^l) on the two halves of every row.
     */
    public double addOrthogonalityLoss(int seen, int past, float weight, Tensor dP) {
        if (mode == StarPromptConfig.PromptMode.RESIDUAL) return prompter.addOrthogonalityLoss(seen, past, weight, dP);
        if (past == 0 || weight == 0) return 0;
        int classes = prompter.classes(), layers = prompter.layers(), dp = (int) prompter.prompts().dim(2), half = dp / 2;
        float[] p = be.toFloatArray(prompter.prompts());
        float[] grad = new float[p.length];
        float[] part = new float[classes * half], partGrad = new float[classes * half];
        double total = 0;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < 2; h++) {
                for (int c = 0; c < classes; c++) {
                    System.arraycopy(p, (l * classes + c) * dp + h * half, part, c * half, half);
                }
                total += OrthogonalityLoss.secondStage(part, classes, half, seen, past, partGrad);
                for (int c = 0; c < classes; c++) {
                    int base = (l * classes + c) * dp + h * half;
                    for (int k = 0; k < half; k++) grad[base + k] = partGrad[c * half + k] * weight / layers;
                }
            }
        }
        try (Tensor g = be.fromArray(grad, prompter.prompts().shape())) {
            be.axpy(dP, g, 1f);
        }
        return weight * total / layers;
    }

    // ------------------------------------------------------------------ inference

    /**
     * Final-norm CLS features [B, D] of the fully prompted model, retrieval over the classes
     * [0, seen) (the stage-2 statistics features, §4.8 step 1, and the inference features, §6).
     */
    public Tensor features(Tensor images, Tensor queries, Tensor keys, int seen) {
        Prompter.Retrieval r = prompter.retrieve(queries, keys, seen);
        try (TensorScope scope = TensorScope.open()) {
            Prompts prompts;
            if (mode == StarPromptConfig.PromptMode.RESIDUAL) {
                prompts = Prompts.residual(r.perLayer());
            } else {
                List<Tensor> pk = new ArrayList<>(), pv = new ArrayList<>();
                split(r, (int) queries.dim(0), pk, pv);
                prompts = Prompts.prefix(pk, pv);
            }
            return scope.retain(vit.encodePooled(images, prompts));
        } finally {
            r.sims().close();
            r.selected().close();
            r.superPrompts().close();
        }
    }

    /** Head logits [B, C] over all classes for the features of {@link #features}. */
    public Tensor logits(Tensor images, Tensor queries, Tensor keys, int seen) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.retain(head.forward(features(images, queries, keys, seen)));
        }
    }

    // ------------------------------------------------------------------ prefix plumbing

    /** Splits each layer's selected rows [B, 2L_pD] into key and value prompts [B, L_p, D]. */
    private void split(Prompter.Retrieval r, int batch, List<Tensor> pk, List<Tensor> pv) {
        int width = vit.config().width(), lpd = prefixLength * width;
        for (int l = 0; l < prompter.layers(); l++) {
            Tensor halves = r.layer(l).reshape(2L * batch, lpd);
            Tensor k = be.empty(batch, prefixLength, width), v = be.empty(batch, prefixLength, width);
            Tensor kr = k.reshape(batch, lpd), vr = v.reshape(batch, lpd);
            for (int b = 0; b < batch; b++) {
                be.copy(halves.rows(2L * b, 1), kr.rows(b, 1));
                be.copy(halves.rows(2L * b + 1, 1), vr.rows(b, 1));
            }
            pk.add(k);
            pv.add(v);
        }
    }

    /** Writes the prefix gradients of layer l back into dsp [L, B, 2L_pD]. */
    private void join(Tensor dk, Tensor dv, Tensor dsp, int l, int batch) {
        int lpd = prefixLength * vit.config().width();
        Tensor halves = dsp.rows(l, 1).reshape(2L * batch, lpd);
        Tensor kr = dk.reshape(batch, lpd), vr = dv.reshape(batch, lpd);
        for (int b = 0; b < batch; b++) {
            be.copy(kr.rows(b, 1), halves.rows(2L * b, 1));
            be.copy(vr.rows(b, 1), halves.rows(2L * b + 1, 1));
        }
    }

    @Override
    public void close() {
        prompter.close();
        head.close();
    }

    @Override
    public String toString() {
        return "PromptedClassifier[" + mode + ", " + Arrays.toString(prompter.prompts().shape()) + "]";
    }
}
