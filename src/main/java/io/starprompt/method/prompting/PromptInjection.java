package io.starprompt.method.prompting;

import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.tensor.Tensor;
import java.util.Random;

/**
 * How one selected prompt row per sample and layer enters the frozen ViT, and back. A prompt
 * method keeps a pool P [L, C, {@link #rowWidth()}], selects one row per sample and layer
 * (rows [L, B, rowWidth]) and hands them to an injection:
 *
 * <ul>
 *   <li>{@link ResidualInjection} (STAR-Prompt, ALGORITHM.md §4.4): the row is a [D] vector added to the
 *       value of every token of that layer's attention;
 *   <li>{@link PrefixInjection} (prefix tuning, ALGORITHM.md §4.5; DualPrompt and CODA-Prompt inject this
 *       way): the row holds L_p key vectors then L_p value vectors, prepended to the layer's keys
 *       and values.
 * </ul>
 */
public interface PromptInjection {
    /**
     * Values of one prompt row (one class, one layer).
     *
     * @return the row width
     */
    int rowWidth();

    /**
     * Initial rows [classes, rowWidth] of one layer's pool, row-major, drawn from rnd (the
     * per-mode orthogonal initialisation of ALGORITHM.md §4.1 / §4.5).
     *
     * @param classes C
     * @param rnd the randomness
     * @return the rows
     * @throws IllegalArgumentException if the pool cannot be initialised for that many classes
     */
    double[] initialRows(int classes, Random rnd);

    /**
     * The ViT prompts of one batch from its selected rows [L, B, rowWidth] (new tensors or views in the
     * current scope).
     *
     * @param selectedRows [L, B, rowWidth]
     * @return the prompts
     */
    Prompts prompts(Tensor selectedRows);

    /**
     * Writes the gradient of every selected row [L, B, rowWidth] (overwritten) from the ViT's prompt
     * gradients.
     *
     * @param grads the ViT's prompt gradients
     * @param dSelectedRows [L, B, rowWidth], overwritten
     */
    void rowGradients(PromptGradients grads, Tensor dSelectedRows);

    /**
     * Adds weight·∂L_o/∂P to dPool and returns weight·L_o, with L_o the second-stage
     * orthogonality loss of the pool [L, C, rowWidth] (ALGORITHM.md §4.6) averaged over layers; zero
     * while there are no past classes.
     *
     * @param pool the pool [L, C, rowWidth]
     * @param seen rows below this take part
     * @param past frozen rows [0, past)
     * @param weight the loss weight
     * @param dPool the pool's gradient, added to
     * @return weight·L_o
     */
    double addOrthogonalityLoss(Tensor pool, int seen, int past, float weight, Tensor dPool);
}
