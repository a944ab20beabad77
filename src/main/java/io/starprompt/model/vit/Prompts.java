package io.starprompt.model.vit;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Per-layer prompts fed into the ViT's attention: none, STAR-Prompt residual prompts (one
 * [B, W] vector per layer added to the value of every token, ALGORITHM.md §4.4), or prefix-tuning
 * prompts (keys and values [B, Lp, W] prepended in head space, ALGORITHM.md §4.5). A layer's entry may
 * be null (no prompt in that layer). The tensors stay owned by the caller and must stay open
 * until the backward pass that uses them is done.
 */
public final class Prompts {
    /** How prompts enter the attention. */
    public enum Kind {
        /** No prompts. */
        NONE,
        /** A vector per sample added to the values of every token. */
        RESIDUAL,
        /** Prefix keys and values per sample, read before the tokens' keys and values. */
        PREFIX
    }

    private static final Prompts NONE = new Prompts(Kind.NONE, List.of(), List.of(), List.of());

    private final Kind kind;
    private final List<Tensor> residual;
    private final List<Tensor> prefixKeys;
    private final List<Tensor> prefixValues;

    private Prompts(Kind kind, List<Tensor> residual, List<Tensor> prefixKeys, List<Tensor> prefixValues) {
        this.kind = kind;
        this.residual = residual;
        this.prefixKeys = prefixKeys;
        this.prefixValues = prefixValues;
    }

    /**
     * No prompts: the plain frozen ViT.
     *
     * @return the empty prompts
     */
    public static Prompts none() {
        return NONE;
    }

    /**
     * Residual prompts, one [B, W] tensor (or null) per layer.
     *
     * @param perLayer one tensor or null per layer
     * @return the prompts
     */
    public static Prompts residual(List<Tensor> perLayer) {
        Objects.requireNonNull(perLayer, "perLayer");
        return new Prompts(Kind.RESIDUAL, copy(perLayer), List.of(), List.of());
    }

    /**
     * Residual prompts, one [B, W] tensor (or null) per layer.
     *
     * @param perLayer one tensor or null per layer
     * @return the prompts
     */
    public static Prompts residual(Tensor... perLayer) {
        return residual(Arrays.asList(perLayer));
    }

    /**
     * Prefix prompts: keys and values [B, Lp, W] per layer, both null where a layer has none.
     *
     * @param keys one tensor or null per layer
     * @param values one tensor or null per layer
     * @return the prompts
     */
    public static Prompts prefix(List<Tensor> keys, List<Tensor> values) {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        if (keys.size() != values.size()) {
            throw new IllegalArgumentException("prefix prompts: " + keys.size() + " key layers but " + values.size()
                    + " value layers");
        }
        return new Prompts(Kind.PREFIX, List.of(), copy(keys), copy(values));
    }

    private static List<Tensor> copy(List<Tensor> list) {
        return Collections.unmodifiableList(new ArrayList<>(list));
    }

    /**
     * How these prompts enter the attention.
     *
     * @return the kind
     */
    public Kind kind() {
        return kind;
    }

    /**
     * Number of layers the lists cover (0 for {@link #none()}).
     *
     * @return the number of layers
     */
    public int layers() {
        return Math.max(residual.size(), prefixKeys.size());
    }

    /**
     * The residual prompt of that layer, or null.
     *
     * @param layer the layer
     * @return the prompt, or null
     */
    public Tensor residual(int layer) {
        return kind == Kind.RESIDUAL ? residual.get(layer) : null;
    }

    /**
     * The prefix keys of that layer, or null.
     *
     * @param layer the layer
     * @return the keys, or null
     */
    public Tensor prefixKeys(int layer) {
        return kind == Kind.PREFIX ? prefixKeys.get(layer) : null;
    }

    /**
     * The prefix values of that layer, or null.
     *
     * @param layer the layer
     * @return the values, or null
     */
    public Tensor prefixValues(int layer) {
        return kind == Kind.PREFIX ? prefixValues.get(layer) : null;
    }

    /**
     * Whether that layer receives a prompt (and so a prompt gradient).
     *
     * @param layer the layer
     * @return whether it is prompted
     */
    public boolean hasPrompt(int layer) {
        return residual(layer) != null || prefixKeys(layer) != null;
    }

    /** Checks the lists cover depth layers and every tensor's device, dtype and shape. */
    void validate(int depth, long batch, long width, Device device) {
        if (kind == Kind.NONE) return;
        if (layers() != depth) {
            throw new IllegalArgumentException(kind.name().toLowerCase() + " prompts cover " + layers()
                    + " layers but the ViT has " + depth);
        }
        for (int l = 0; l < depth; l++) {
            if (kind == Kind.RESIDUAL) {
                check(residual(l), "residual prompt of layer " + l, device, batch, width);
                continue;
            }
            Tensor k = prefixKeys(l), v = prefixValues(l);
            if ((k == null) != (v == null)) {
                throw new IllegalArgumentException("prefix prompt of layer " + l + ": keys and values must be given"
                        + " together");
            }
            if (k == null) continue;
            String name = "prefix keys of layer " + l;
            if (k.rank() != 3 || k.dim(1) < 1) {
                throw new IllegalArgumentException(name + " must be [B, Lp ≥ 1, W], got " + k);
            }
            check(k, name, device, batch, k.dim(1), width);
            check(v, "prefix values of layer " + l, device, batch, k.dim(1), width);
        }
    }

    private static void check(Tensor t, String name, Device device, long... shape) {
        if (t == null) return;
        t.ensureOpen(name);
        if (t.device() != device || t.dtype() != DType.F32 || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + " must be an f32 " + device.name().toLowerCase() + " tensor "
                    + Tensor.shapeString(shape) + ", got " + t);
        }
    }
}
