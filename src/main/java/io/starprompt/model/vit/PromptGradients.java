package io.starprompt.model.vit;

import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Gradients of a ViT backward pass: per prompted layer the gradient of its residual prompt
 * [B, W] or of its prefix keys and values [B, Lp, W] (null for layers without a prompt), and,
 * when asked for, the gradient of the input images [B, C, H, W]. The weights are frozen, so there
 * are no weight gradients. The caller owns these tensors (they also belong to the TensorScope
 * that was open during the backward pass); {@link #close()} frees them all.
 */
public final class PromptGradients implements AutoCloseable {
    private final Tensor[] residual;
    private final Tensor[] prefixKeys;
    private final Tensor[] prefixValues;
    private Tensor image;
    private Tensor input;

    PromptGradients(int depth) {
        residual = new Tensor[depth];
        prefixKeys = new Tensor[depth];
        prefixValues = new Tensor[depth];
    }

    /**
     * d loss / d residual prompt of that layer [B, W], or null when the layer had none.
     *
     * @param layer the layer
     * @return the gradient, or null
     */
    public Tensor residual(int layer) {
        return residual[layer];
    }

    /**
     * d loss / d prefix keys of that layer [B, Lp, W], or null.
     *
     * @param layer the layer
     * @return the gradient, or null
     */
    public Tensor prefixKeys(int layer) {
        return prefixKeys[layer];
    }

    /**
     * d loss / d prefix values of that layer [B, Lp, W], or null.
     *
     * @param layer the layer
     * @return the gradient, or null
     */
    public Tensor prefixValues(int layer) {
        return prefixValues[layer];
    }

    /**
     * d loss / d input images [B, C, H, W], or null when the image gradient was not requested.
     *
     * @return the gradient, or null
     */
    public Tensor image() {
        return image;
    }

    /**
     * d loss / d input prompt pool [M, L, W] (zero for entries no sample chose), or null when the
     * prompts were not {@link Prompts.Kind#INPUT}.
     *
     * @return the gradient, or null
     */
    public Tensor input() {
        return input;
    }

    /**
     * Number of layers covered.
     *
     * @return the number of layers
     */
    public int layers() {
        return residual.length;
    }

    void set(int layer, Tensor dResidual, Tensor dPrefixKeys, Tensor dPrefixValues) {
        residual[layer] = dResidual;
        prefixKeys[layer] = dPrefixKeys;
        prefixValues[layer] = dPrefixValues;
    }

    void setImage(Tensor dImage) {
        image = dImage;
    }

    void setInput(Tensor dPool) {
        input = dPool;
    }

    private List<Tensor> all() {
        List<Tensor> out = new ArrayList<>();
        out.addAll(Arrays.asList(residual));
        out.addAll(Arrays.asList(prefixKeys));
        out.addAll(Arrays.asList(prefixValues));
        out.add(image);
        out.add(input);
        return out;
    }

    @Override
    public void close() {
        for (Tensor t : all()) {
            if (t != null) t.close();
        }
    }
}
