package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.method.common.LinearHead;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;

/**
 * One second-stage training computation (spec §4): per-layer retrieval from the CLIP queries,
 * the ViT with the super-prompts injected as value residuals, the linear head on the CLS
 * feature, cross-entropy over the classes [lossFrom, seen), and the gradients of A, P, W, b.
 * The frozen ViT is borrowed, the prompter and head are borrowed too (owned by the caller).
 */
public final class SecondStage {
    private final Backend be;
    private final VisionTransformer vit;
    private final Prompter prompter;
    private final LinearHead head;

    public SecondStage(VisionTransformer vit, Prompter prompter, LinearHead head) {
        this.be = vit.backend();
        this.vit = vit;
        this.prompter = prompter;
        this.head = head;
        if (prompter.layers() != vit.config().depth()) {
            throw new IllegalArgumentException("prompter has " + prompter.layers() + " layers, the ViT "
                    + vit.config().depth());
        }
    }

    /** Which classes take part in one step: past = frozen [0, past), current = [past, seen). */
    public record ClassRange(int past, int seen, int lossFrom) {
        /** Training: past logits masked out of the loss. */
        public static ClassRange training(int past, int seen) {
            return new ClassRange(past, seen, past);
        }
    }

    /** Loss, logits and parameter gradients of one batch; close to free the tensors. */
    public record Result(float loss, Tensor logits, Tensor dModulation, Tensor dPrompts, Tensor dHeadWeight,
            Tensor dHeadBias) implements AutoCloseable {
        @Override
        public void close() {
            logits.close();
            dModulation.close();
            dPrompts.close();
            dHeadWeight.close();
            dHeadBias.close();
        }
    }

    /**
     * Forward and backward for images [B,3,H,W] with their raw CLIP queries [B,d], the unit keys
     * of the seen classes [seen,d] and labels in [range.lossFrom, range.seen).
     */
    public Result lossAndGradients(Tensor images, Tensor queries, Tensor keys, int[] labels, ClassRange range) {
        Prompter.Retrieval r = prompter.retrieve(queries, keys, range.seen());
        try (Activations act = vit.forwardPooled(images, Prompts.residual(r.perLayer()))) {
            Tensor logits = head.forward(act.pooled());
            Tensor dLogits = be.empty(logits.shape());
            float loss = be.crossEntropy(logits, labels, range.lossFrom(), range.seen(), dLogits);
            Tensor dW = be.empty(head.weight().shape()), db = be.empty(head.bias().shape());
            Tensor dPooled = head.backward(act.pooled(), dLogits, dW, db);
            Tensor dsp = be.empty(r.superPrompts().shape());
            try (PromptGradients g = vit.backwardPooled(act, dPooled, false)) {
                for (int l = 0; l < prompter.layers(); l++) be.copy(g.residual(l), dspLayer(dsp, l));
            }
            Tensor dA = be.empty(prompter.modulation().shape()), dP = be.empty(prompter.prompts().shape());
            prompter.backward(r, dsp, range.past(), dA, dP);
            for (Tensor t : new Tensor[] {dLogits, dPooled, dsp, r.sims(), r.selected(), r.superPrompts()}) t.close();
            return new Result(loss, logits, dA, dP, dW, db);
        }
    }

    private static Tensor dspLayer(Tensor dsp, int l) {
        return dsp.rows(l, 1).reshape(dsp.dim(1), dsp.dim(2));
    }
}
