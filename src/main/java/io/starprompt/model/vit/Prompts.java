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
 * be null (no prompt in that layer). Or input prompts (L2P, methods/l2p.md §4): entries of a pool
 * inserted as tokens after the class token, before the first block. The tensors stay owned by
 * the caller and must stay open until the backward pass that uses them is done.
 */
public final class Prompts {
    /** How prompts enter the attention. */
    public enum Kind {
        /** No prompts. */
        NONE,
        /** A vector per sample added to the values of every token. */
        RESIDUAL,
        /** Prefix keys and values per sample, read before the tokens' keys and values. */
        PREFIX,
        /** Pool entries inserted as input tokens after the class token (methods/l2p.md §4). */
        INPUT
    }

    private static final Prompts NONE = new Prompts(Kind.NONE, List.of(), List.of(), List.of());

    private final Kind kind;
    private final List<Tensor> residual;
    private final List<Tensor> prefixKeys;
    private final List<Tensor> prefixValues;
    private final Tensor inputPool;
    private final Tensor inputSelection;

    private Prompts(Kind kind, List<Tensor> residual, List<Tensor> prefixKeys, List<Tensor> prefixValues) {
        this(kind, residual, prefixKeys, prefixValues, null, null);
    }

    private Prompts(Kind kind, List<Tensor> residual, List<Tensor> prefixKeys, List<Tensor> prefixValues,
            Tensor inputPool, Tensor inputSelection) {
        this.kind = kind;
        this.residual = residual;
        this.prefixKeys = prefixKeys;
        this.prefixValues = prefixValues;
        this.inputPool = inputPool;
        this.inputSelection = inputSelection;
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

    /**
     * Input prompts: sample b's sequence becomes [CLS; pool[selected[b, 0]]; …;
     * pool[selected[b, N−1]]; patches], each prompt token carrying the class position's
     * embedding (methods/l2p.md §4). The N·L prompt tokens are rows 1 … N·L of the output.
     *
     * @param pool the prompt pool [M, L, W] (f32)
     * @param selected the prompts of each sample [B, N] (i32, each in [0, M))
     * @return the prompts
     */
    public static Prompts input(Tensor pool, Tensor selected) {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(selected, "selected");
        return new Prompts(Kind.INPUT, List.of(), List.of(), List.of(), pool, selected);
    }

    /**
     * The pool of input prompts, or null for other kinds.
     *
     * @return the pool [M, L, W], or null
     */
    public Tensor inputPool() {
        return inputPool;
    }

    /**
     * The chosen pool entries per sample, or null for other kinds.
     *
     * @return the selection [B, N] (i32), or null
     */
    public Tensor inputSelection() {
        return inputSelection;
    }

    /**
     * How many tokens the input prompts add after the class token: N·L, 0 for other kinds.
     *
     * @return the number of prompt tokens
     */
    public int inputTokens() {
        return kind == Kind.INPUT ? Math.toIntExact(inputSelection.dim(1) * inputPool.dim(1)) : 0;
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
        if (kind == Kind.INPUT) {
            validateInput(batch, width, device);
            return;
        }
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

    private void validateInput(long batch, long width, Device device) {
        inputPool.ensureOpen("input prompt pool");
        inputSelection.ensureOpen("input prompt selection");
        if (inputPool.rank() != 3 || inputPool.dim(0) < 1 || inputPool.dim(1) < 1) {
            throw new IllegalArgumentException("input prompt pool must be [M ≥ 1, L ≥ 1, W], got " + inputPool);
        }
        check(inputPool, "input prompt pool", device, inputPool.dim(0), inputPool.dim(1), width);
        if (inputSelection.rank() != 2 || inputSelection.dim(0) != batch || inputSelection.dim(1) < 1
                || inputSelection.dtype() != DType.I32 || inputSelection.device() != device) {
            throw new IllegalArgumentException("input prompt selection must be an i32 " + device.name().toLowerCase()
                    + " tensor [B = " + batch + ", N ≥ 1], got " + inputSelection);
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
