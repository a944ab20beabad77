package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Profiler;
import io.starprompt.method.common.LinearHead;
import io.starprompt.method.prompting.PromptInjection;
import io.starprompt.method.prompting.ResidualInjection;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * One second-stage training computation (ALGORITHM.md §4): per-layer retrieval from the CLIP queries,
 * the ViT with the selected prompts injected ({@link PromptInjection}: value residuals for
 * STAR-Prompt), the linear head on the CLS feature, cross-entropy over the classes
 * [lossFrom, seen), and the gradients of A, P, W, b. The frozen ViT, the prompter and the head
 * are borrowed (owned by the caller).
 */
public final class SecondStage {
    private final Backend be;
    private final VisionTransformer vit;
    private final Prompter prompter;
    private final LinearHead head;
    private final PromptInjection injection;

    /**
     * STAR-Prompt's second stage: residual prompts.
     *
     * @param vit the frozen ViT (borrowed)
     * @param prompter the prompt pools (borrowed)
     * @param head the head (borrowed)
     */
    public SecondStage(VisionTransformer vit, Prompter prompter, LinearHead head) {
        this(vit, prompter, head, new ResidualInjection(vit.backend(), vit.config().width()));
    }

    /**
     * The second stage with the prompts entering the ViT by the given injection.
     *
     * @param vit the frozen ViT (borrowed)
     * @param prompter the prompt pools (borrowed)
     * @param head the head (borrowed)
     * @param injection how the prompts enter the ViT
     */
    public SecondStage(VisionTransformer vit, Prompter prompter, LinearHead head, PromptInjection injection) {
        this.be = vit.backend();
        this.vit = vit;
        this.prompter = prompter;
        this.head = head;
        this.injection = injection;
        if (prompter.layers() != vit.config().depth()) {
            throw new IllegalArgumentException("prompter has " + prompter.layers() + " layers, the ViT "
                    + vit.config().depth());
        }
        if (prompter.prompts().dim(2) != injection.rowWidth()) {
            throw new IllegalArgumentException("second stage: " + injection.getClass().getSimpleName() + " needs rows of "
                    + injection.rowWidth() + " values, got " + prompter.prompts());
        }
    }

    /** Which classes take part in one step: past = frozen [0, past), current = [past, seen). */
    public record ClassRange(int past, int seen, int lossFrom) {
        /**
         * Training: past logits masked out of the loss.
         *
         * @param past the number of past classes
         * @param seen the end of the seen classes
         * @return the range
         */
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
     * of the seen classes [seen,d] and labels in [range.lossFrom, range.seen). The result's
     * tensors live in the caller's scope; every intermediate is freed.
     *
     * @param images ViT input [B, 3, H, W]
     * @param queries raw CLIP queries [B, d]
     * @param keys unit keys of the seen classes [seen, d]
     * @param labels the labels
     * @param range which classes take part
     * @return the loss, logits and gradients; close it
     */
    public Result lossAndGradients(Tensor images, Tensor queries, Tensor keys, int[] labels, ClassRange range) {
        Profiler p = be.profiler();
        Prompter.Retrieval r;
        try (Profiler.Scope s = p.scope("prompter")) {
            r = prompter.retrieve(queries, keys, range.seen());
        }
        try (r; TensorScope scope = TensorScope.open();
                Activations act = vit.forwardPooled(images, injection.prompts(r.superPrompts()))) {
            Tensor logits, dW, db, dPooled;
            float loss;
            try (Profiler.Scope s = p.scope("head")) {
                logits = scope.retain(head.forward(act.pooled()));
                Tensor dLogits = be.empty(logits.shape());
                loss = be.crossEntropy(logits, labels, range.lossFrom(), range.seen(), dLogits);
                dW = scope.retain(be.empty(head.weight().shape()));
                db = scope.retain(be.empty(head.bias().shape()));
                dPooled = head.backward(act.pooled(), dLogits, dW, db);
            }
            Tensor dRows = be.empty(r.superPrompts().shape());
            try (PromptGradients g = vit.backwardPooled(act, dPooled, false)) {
                injection.rowGradients(g, dRows);
            }
            Tensor dA = scope.retain(be.empty(prompter.modulation().shape()));
            Tensor dP = scope.retain(be.empty(prompter.prompts().shape()));
            try (Profiler.Scope s = p.scope("prompter")) {
                prompter.backward(r, dRows, range.past(), dA, dP);
            }
            return new Result(loss, logits, dA, dP, dW, db);
        }
    }
}
