package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.MethodState;
import io.starprompt.method.common.LinearHead;
import io.starprompt.method.prompting.PrefixInjection;
import io.starprompt.method.prompting.PromptInjection;
import io.starprompt.method.prompting.ResidualInjection;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The second-stage model: CLIP-query retrieval over the seen classes, the frozen ViT with the
 * retrieved prompts, the linear head. Borrows the ViT; owns the prompter and the head. How the
 * prompts enter the ViT is the {@link PromptInjection} of the prompt mode:
 *
 * <ul>
 *   <li>{@link StarPromptConfig.PromptMode#RESIDUAL} (STAR-Prompt, §4.4): P^l [C, D], the
 *       super-prompt is added to the values of every token ({@link ResidualInjection});
 *   <li>{@link StarPromptConfig.PromptMode#CONCAT} (prefix-tuning ablation, §4.5): P^l holds
 *       [C, 2·L_p·D], the same retrieval and confidence weighting select one row per sample and
 *       layer, whose halves are prepended to the keys and values ({@link PrefixInjection}).
 * </ul>
 */
public final class PromptedClassifier implements AutoCloseable {
    private final VisionTransformer vit;
    private final Prompter prompter;
    private final LinearHead head;
    private final StarPromptConfig.PromptMode mode;
    private final PromptInjection injection;
    private final SecondStage stage;

    private PromptedClassifier(VisionTransformer vit, Prompter prompter, LinearHead head,
            StarPromptConfig.PromptMode mode, PromptInjection injection) {
        this.vit = vit;
        this.prompter = prompter;
        this.head = head;
        this.mode = mode;
        this.injection = injection;
        this.stage = new SecondStage(vit, prompter, head, injection);
    }

    /**
     * The injection of a prompt mode into this ViT (prefixLength is used by CONCAT only).
     *
     * @param vit the ViT
     * @param mode residual or prefix prompts
     * @param prefixLength L_p of prefix prompts
     * @return the injection
     */
    public static PromptInjection injection(VisionTransformer vit, StarPromptConfig.PromptMode mode, int prefixLength) {
        Backend be = vit.backend();
        int width = vit.config().width();
        return switch (mode) {
            case RESIDUAL -> new ResidualInjection(be, width);
            case CONCAT -> new PrefixInjection(be, width, prefixLength);
        };
    }

    /**
     * Fresh parameters for C classes (ALGORITHM.md §4.1, §4.5, §2.2): A^l orthogonal, P^l per mode, head
     * W ~ N(0, 0.02²), b = 0.
     *
     * @param vit the frozen ViT (borrowed)
     * @param classes C
     * @param queryDim d, the CLIP query width
     * @param cfg the run's configuration
     * @param seed the initialisation seed
     * @return the classifier
     */
    public static PromptedClassifier initialised(VisionTransformer vit, int classes, int queryDim,
            StarPromptConfig cfg, long seed) {
        Backend be = vit.backend();
        PromptInjection injection = injection(vit, cfg.stage2().promptMode(), cfg.stage2().prefixLength());
        Prompter prompter = Prompter.initialised(be, vit.config().depth(), classes, queryDim, injection,
                cfg.stage2().confidenceModulation(), seed);
        LinearHead head = LinearHead.initialised(be, classes, vit.config().width(), seed ^ 0x5DEECE66DL);
        return new PromptedClassifier(vit, prompter, head, cfg.stage2().promptMode(), injection);
    }

    /**
     * Wraps existing parameters (takes ownership of prompter and head).
     *
     * @param vit the frozen ViT (borrowed)
     * @param prompter the prompt pools and retrieval (owned from now on)
     * @param head the head (owned from now on)
     * @param mode how the prompts enter the ViT
     * @param prefixLength L_p of prefix prompts
     * @return the classifier
     */
    public static PromptedClassifier of(VisionTransformer vit, Prompter prompter, LinearHead head,
            StarPromptConfig.PromptMode mode, int prefixLength) {
        return new PromptedClassifier(vit, prompter, head, mode, injection(vit, mode, prefixLength));
    }

    /**
     * The prompt pools and the retrieval.
     *
     * @return the prompter
     */
    public Prompter prompter() {
        return prompter;
    }

    /**
     * The classifier over all C classes.
     *
     * @return the head
     */
    public LinearHead head() {
        return head;
    }

    /**
     * The frozen ViT (borrowed).
     *
     * @return the ViT
     */
    public VisionTransformer vit() {
        return vit;
    }

    /**
     * How the prompts enter the ViT.
     *
     * @return the prompt mode
     */
    public StarPromptConfig.PromptMode mode() {
        return mode;
    }

    /**
     * C, the classes of the pools and the head.
     *
     * @return C
     */
    public int classes() {
        return prompter.classes();
    }

    /**
     * The trainable tensors in optimiser order: A, P, W, b.
     *
     * @return the four parameters
     */
    public List<Tensor> parameters() {
        return List.of(prompter.modulation(), prompter.prompts(), head.weight(), head.bias());
    }

    // ------------------------------------------------------------------ training

    /**
     * Loss and gradients of A, P, W, b for one batch (ALGORITHM.md §4.2–§4.6 without the ortho term).
     *
     * @param images ViT input [B, 3, H, W]
     * @param queries raw CLIP queries [B, d]
     * @param keys unit keys of the seen classes [seen, d]
     * @param labels the labels
     * @param range which classes take part
     * @return the loss, logits and gradients; close it
     */
    public SecondStage.Result lossAndGradients(Tensor images, Tensor queries, Tensor keys, int[] labels,
            SecondStage.ClassRange range) {
        return stage.lossAndGradients(images, queries, keys, labels, range);
    }

    /**
     * Adds weight·∂L_o2/∂P to dP and returns weight·L_o2 (zero while there are no past classes).
     * Concat mode: L^l = L(P_k^l) + L(P_v^l) on the two halves of every row.
     *
     * @param seen the end of the seen classes
     * @param past the number of past classes
     * @param weight λ2
     * @param dP the prompts' gradient, added to
     * @return weight·L_o2
     */
    public double addOrthogonalityLoss(int seen, int past, float weight, Tensor dP) {
        return injection.addOrthogonalityLoss(prompter.prompts(), seen, past, weight, dP);
    }

    // ------------------------------------------------------------------ inference

    /**
     * Final-norm CLS features [B, D] of the fully prompted model, retrieval over the classes
     * [0, seen) (the stage-2 statistics features, §4.8 step 1, and the inference features, §6).
     *
     * @param images ViT input [B, 3, H, W]
     * @param queries raw CLIP queries [B, d]
     * @param keys unit keys of the seen classes [seen, d]
     * @param seen the classes [0, seen)
     * @return the features, in the current scope
     */
    public Tensor features(Tensor images, Tensor queries, Tensor keys, int seen) {
        try (Prompter.Retrieval r = prompter.retrieve(queries, keys, seen); TensorScope scope = TensorScope.open()) {
            return scope.retain(vit.encodePooled(images, injection.prompts(r.superPrompts())));
        }
    }

    /**
     * Head logits [B, C] over all classes for the features of {@link #features}.
     *
     * @param images ViT input [B, 3, H, W]
     * @param queries raw CLIP queries [B, d]
     * @param keys unit keys of the seen classes [seen, d]
     * @param seen the classes [0, seen)
     * @return the logits, in the current scope
     */
    public Tensor logits(Tensor images, Tensor queries, Tensor keys, int seen) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.retain(head.forward(features(images, queries, keys, seen)));
        }
    }

    /**
     * Stores A, P, W and b under {@code prefix} ({@code modulation}, {@code prompts}, {@code head.weight},
     * {@code head.bias}).
     *
     * @param state the state to add to
     * @param prefix the names' prefix
     */
    public void saveTo(MethodState state, String prefix) {
        Backend be = vit.backend();
        for (Map.Entry<String, Tensor> p : namedParameters(prefix).entrySet()) {
            state.putFloats(p.getKey(), be.toFloatArray(p.getValue()), p.getValue().shape());
        }
    }

    /**
     * Overwrites A, P, W and b with what {@link #saveTo} stored under prefix.
     *
     * @param state the state to read
     * @param prefix the names' prefix
     * @throws CheckpointException if an entry is missing or shaped for another model
     */
    public void restoreFrom(MethodState state, String prefix) {
        Backend be = vit.backend();
        Map<String, Tensor> params = namedParameters(prefix);
        Map<String, float[]> values = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> p : params.entrySet()) {
            values.put(p.getKey(), state.floats(p.getKey(), p.getValue().shape()));
        }
        for (Map.Entry<String, Tensor> p : params.entrySet()) {
            try (Tensor src = be.fromArray(values.get(p.getKey()), p.getValue().shape())) {
                be.copy(src, p.getValue());
            }
        }
    }

    private Map<String, Tensor> namedParameters(String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(prefix + "modulation", prompter.modulation());
        m.put(prefix + "prompts", prompter.prompts());
        m.put(prefix + "head.weight", head.weight());
        m.put(prefix + "head.bias", head.bias());
        return m;
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
