package io.starprompt.model.vit;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Profiler;
import io.starprompt.model.ExclusiveUse;
import io.starprompt.model.ImageBatch;
import io.starprompt.model.Precision;
import io.starprompt.model.TensorArguments;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A frozen timm {@code VisionTransformer} (ViT-B/16 layout: CLS token, learned positional
 * embedding, pre-LN blocks with qkv bias, exact GELU, LayerNorm eps 1e-6, final norm, CLS pooling)
 * with STAR-Prompt residual or prefix prompts entering each block's attention (ALGORITHM.md §2.2, §4.4,
 * §4.5), or L2P input prompts inserted after the class token (methods/l2p.md §4; the sequence then
 * has {@link Prompts#inputTokens()} more tokens, and {@link #promptMean} pools them, §5). The weights are frozen, so the backward pass yields gradients for the prompts and,
 * optionally, the input images, never for the weights.
 *
 * <pre>{@code
 * try (VisionTransformer vit = VisionTransformer.load(be, path, 12);
 *      TensorScope step = TensorScope.open()) {
 *     Activations act = vit.forwardPooled(images, Prompts.residual(prompts));
 *     ... loss on act.pooled(), its gradient dPooled [B, W] ...
 *     PromptGradients g = vit.backwardPooled(act, dPooled, false);
 * }
 * }</pre>
 *
 * <p>Threads: a model serves one thread at a time. A call made while another thread is inside
 * the model (a forward, a backward, or {@link #close}) is refused with an
 * {@link IllegalStateException} naming that thread, rather than racing on the weights' native
 * memory; hand the model over between calls, or load one per thread. Closing twice is harmless;
 * any call after {@link #close} is an IllegalStateException.
 */
public final class VisionTransformer implements AutoCloseable {
    private static final Pattern BLOCK_NAME = Pattern.compile("blocks\\.(\\d+)\\.(.+)");
    private static final java.util.Set<String> BLOCK_TENSORS = java.util.Set.of("norm1.weight", "norm1.bias",
            "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias", "norm2.weight", "norm2.bias",
            "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias");
    private static final java.util.Set<String> TOP_TENSORS = java.util.Set.of("cls_token", "pos_embed",
            "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight", "norm.bias");

    private final Backend be;
    private final VitConfig cfg;
    private final PatchEmbedding embedding;
    private final Block[] blocks;
    private final Tensor normW, normB;
    private final ExclusiveUse use = new ExclusiveUse("VisionTransformer");
    private volatile boolean closed;

    private VisionTransformer(Backend be, VitConfig cfg, PatchEmbedding embedding, Block[] blocks, Tensor normW,
            Tensor normB) {
        this.be = be;
        this.cfg = cfg;
        this.embedding = embedding;
        this.blocks = blocks;
        this.normW = normW;
        this.normB = normB;
    }

    // ------------------------------------------------------------------ loading

    /**
     * Loads a timm ViT state dict (safetensors, names as in {@code timm/vit_base_patch16_224.*});
     * width, depth, patch and image size, MLP width and channels are read off the tensors, the
     * number of heads (not recorded in a state dict) is given. {@code head.*} tensors are ignored.
     *
     * @param be the backend to load onto
     * @param safetensors the weights
     * @param heads the number of attention heads
     * @return the model; close it
     * @throws IllegalArgumentException naming the file and tensor when one is missing, has the
     *     wrong shape or is not part of a plain timm ViT, or when heads does not divide the width
     * @throws IOException if the file cannot be read
     */
    public static VisionTransformer load(Backend be, Path safetensors, int heads) throws IOException {
        return load(be, safetensors, heads, Precision.FP32);
    }

    /**
     * As {@link #load(Backend, Path, int)}, with the weights stored and the activations computed in
     * the given precision (weights converted once, here; see {@link Precision}).
     *
     * @param be the backend to load onto
     * @param safetensors the weights
     * @param heads the number of attention heads
     * @param precision how the frozen tower stores and computes
     * @return the model; close it
     * @throws IllegalArgumentException as {@link #load(Backend, Path, int)}
     * @throws IOException if the file cannot be read
     */
    public static VisionTransformer load(Backend be, Path safetensors, int heads, Precision precision)
            throws IOException {
        Objects.requireNonNull(be, "backend");
        Objects.requireNonNull(safetensors, "safetensors");
        return WeightReader.read(safetensors, be, "a timm VisionTransformer state dict", precision, r -> {
            VitConfig cfg = inferConfig(r, heads);
            rejectUnknownTensors(r, cfg);
            PatchEmbedding embedding = PatchEmbedding.load(r, cfg);
            Block[] blocks = new Block[cfg.depth()];
            for (int i = 0; i < blocks.length; i++) blocks[i] = Block.load(r, cfg, i);
            Tensor normW = r.load("norm.weight", cfg.width());
            Tensor normB = r.load("norm.bias", cfg.width());
            return new VisionTransformer(be, cfg, embedding, blocks, normW, normB);
        });
    }

    /** Deduces the sizes from cls_token, pos_embed, the patch conv and the block count. */
    private static VitConfig inferConfig(WeightReader r, int heads) {
        long[] cls = r.shape("cls_token", 3, "[1, 1, W]");
        if (cls[0] != 1 || cls[1] != 1 || cls[2] < 1) {
            throw r.bad("cls_token", "has shape " + Tensor.shapeString(cls) + ", expected [1, 1, W]");
        }
        long width = cls[2];
        long[] pos = r.shape("pos_embed", 3, "[1, T, " + width + "]");
        long patches = pos[1] - 1;
        long grid = Math.round(Math.sqrt(Math.max(patches, 0)));
        if (pos[0] != 1 || pos[2] != width || patches < 1 || grid * grid != patches) {
            throw r.bad("pos_embed", "has shape " + Tensor.shapeString(pos) + ", expected [1, 1 + G², " + width
                    + "] (CLS plus a square patch grid)");
        }
        long[] conv = r.shape("patch_embed.proj.weight", 4, "[" + width + ", C, p, p]");
        if (conv[0] != width || conv[1] < 1 || conv[2] < 1 || conv[2] != conv[3]) {
            throw r.bad("patch_embed.proj.weight", "has shape " + Tensor.shapeString(conv) + ", expected [" + width
                    + ", C, p, p]");
        }
        int depth = countBlocks(r);
        long[] fc1 = r.shape("blocks.0.mlp.fc1.weight", 2, "[M, " + width + "]");
        if (heads <= 0 || width % heads != 0) {
            throw new IllegalArgumentException(r.path() + ": heads = " + heads + " does not divide the width "
                    + width + " (from tensor 'cls_token')");
        }
        return new VitConfig(Math.toIntExact(conv[1]), Math.toIntExact(grid * conv[2]), Math.toIntExact(conv[2]),
                Math.toIntExact(width), depth, heads, Math.toIntExact(fc1[0]));
    }

    /** depth = 1 + the largest i of any blocks.{i}.* tensor (a gap shows up as a missing tensor). */
    private static int countBlocks(WeightReader r) {
        int depth = 0;
        for (String name : r.names()) {
            Matcher m = BLOCK_NAME.matcher(name);
            if (m.matches()) depth = Math.max(depth, Integer.parseInt(m.group(1)) + 1);
        }
        if (depth == 0) throw r.bad("blocks.0.norm1.weight", "is missing: no blocks.{i}.* tensors at all");
        return depth;
    }

    /** Anything but head.* outside the plain ViT's names means a variant this code would compute wrongly. */
    private static void rejectUnknownTensors(WeightReader r, VitConfig cfg) {
        TreeSet<String> unknown = new TreeSet<>();
        for (String name : r.names()) {
            if (name.startsWith("head.") || TOP_TENSORS.contains(name)) continue;
            Matcher m = BLOCK_NAME.matcher(name);
            if (m.matches() && BLOCK_TENSORS.contains(m.group(2))) continue;
            unknown.add(name);
        }
        if (!unknown.isEmpty()) {
            throw r.bad(unknown.first(), "is not part of a plain timm ViT (no register tokens, layer scale, pre-norm,"
                    + " fc_norm or qk-norm supported); unexpected tensors: " + unknown);
        }
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The model's sizes.
     *
     * @return the configuration
     */
    public VitConfig config() {
        return cfg;
    }

    /**
     * The backend the weights live on.
     *
     * @return the backend
     */
    public Backend backend() {
        return be;
    }

    /**
     * Host images as this model's input: {@code batch} planar images [C][S][S] at the model's
     * channels and image size become a tensor [batch, C, S, S] in the current scope.
     *
     * @param values the images, planar
     * @param batch how many
     * @return the input tensor
     * @throws IllegalArgumentException naming both image sizes if the values are not {@code batch}
     *     images of this model's size
     */
    public Tensor images(float[] values, int batch) {
        ensureOpen("images");
        return ImageBatch.upload(be, "ViT", cfg.channels(), cfg.imageSize(), values, batch);
    }

    // ------------------------------------------------------------------ forward

    /**
     * Training forward: images [B, C, H, W] → {@link Activations} holding the final-normed tokens
     * [B, T, W] ({@link Activations#tokens()}) and what {@link #backward} needs.
     *
     * @param images [B, C, H, W]
     * @param prompts the prompts per layer ({@link Prompts#none()} for none)
     * @return the activations; close them
     */
    public Activations forward(Tensor images, Prompts prompts) {
        return use.call("forward", () -> train(images, prompts, false));
    }

    /**
     * Training forward for a loss on the CLS feature only: the last block computes only the CLS
     * row (exact, ALGORITHM.md §10.4); {@link Activations#pooled()} is [B, W]; use {@link #backwardPooled}.
     *
     * @param images [B, C, H, W]
     * @param prompts the prompts per layer
     * @return the activations; close them
     */
    public Activations forwardPooled(Tensor images, Prompts prompts) {
        return use.call("forwardPooled", () -> train(images, prompts, true));
    }

    /**
     * Inference: the final-normed tokens [B, T, W] without keeping anything for a backward pass.
     *
     * @param images [B, C, H, W]
     * @param prompts the prompts per layer
     * @return the tokens, in the current scope
     */
    public Tensor encode(Tensor images, Prompts prompts) {
        return use.call("encode", () -> infer(images, prompts, false));
    }

    /**
     * Inference: the pooled CLS feature [B, W] (last block on the CLS row only), nothing kept.
     *
     * @param images [B, C, H, W]
     * @param prompts the prompts per layer
     * @return the feature, in the current scope
     */
    public Tensor encodePooled(Tensor images, Prompts prompts) {
        return use.call("encodePooled", () -> infer(images, prompts, true));
    }

    private Activations train(Tensor images, Prompts prompts, boolean clsOnly) {
        int batch = checkInputs(images, prompts);
        Activations act = new Activations(this, batch, clsOnly, prompts);
        try (Profiler.Scope vitScope = be.profiler().scope("vit")) {
            Tensor x;
            try (Profiler.Scope s = be.profiler().scope("patch_embed")) {
                x = withInputPrompts(embedding.forward(be, images), prompts);
            }
            act.streams.add(x);
            for (int l = 0; l < blocks.length; l++) {
                Block.Saved saved = new Block.Saved();
                act.blocks.add(saved);
                try (Profiler.Scope s = be.profiler().scope("block", l)) {
                    x = blocks[l].forward(be, x, layerPrompt(prompts, l), clsOnly && l == blocks.length - 1, saved);
                }
                act.streams.add(x);
            }
            act.output = be.empty(x.shape());
            act.finalMean = be.empty(batch, x.dim(1));
            act.finalRstd = be.empty(batch, x.dim(1));
            try (Profiler.Scope s = be.profiler().scope("norm")) {
                be.layerNorm(x, normW, normB, VitConfig.LAYER_NORM_EPS, act.output, act.finalMean, act.finalRstd);
            }
            return act;
        } catch (RuntimeException | Error e) {
            act.close();
            throw e;
        }
    }

    private Tensor infer(Tensor images, Prompts prompts, boolean clsOnly) {
        int batch = checkInputs(images, prompts);
        try (TensorScope scope = TensorScope.open(); Profiler.Scope vitScope = be.profiler().scope("vit")) {
            Tensor x;
            try (Profiler.Scope s = be.profiler().scope("patch_embed")) {
                x = withInputPrompts(embedding.forward(be, images), prompts);
            }
            for (int l = 0; l < blocks.length; l++) {
                Tensor next;
                try (Profiler.Scope s = be.profiler().scope("block", l)) {
                    next = blocks[l].forward(be, x, layerPrompt(prompts, l), clsOnly && l == blocks.length - 1, null);
                }
                x.close(); // the stream is not needed any more: keep memory at one layer's worth
                x = next;
            }
            // In pooled mode x is [B, 1, W]: normalise it as [B, W] so the result is a plain owner.
            Tensor in = clsOnly ? x.reshape(batch, cfg.width()) : x;
            Tensor out = be.empty(in.shape());
            long rows = in.numel() / cfg.width();
            try (Profiler.Scope s = be.profiler().scope("norm")) {
                be.layerNorm(in, normW, normB, VitConfig.LAYER_NORM_EPS, out, be.empty(rows), be.empty(rows));
            }
            return scope.retain(out);
        }
    }

    /** The embedded sequence with the input prompts inserted after the class token (methods/l2p.md §4). */
    private Tensor withInputPrompts(Tensor tokens, Prompts prompts) {
        if (prompts.kind() != Prompts.Kind.INPUT) return tokens;
        Tensor out = be.empty(tokens.dim(0), tokens.dim(1) + prompts.inputTokens(), tokens.dim(2));
        be.promptConcat(tokens, prompts.inputPool(), prompts.inputSelection(), embedding.classPosition(), out);
        tokens.close();
        return out;
    }

    /**
     * The mean of the input prompt tokens' outputs [B, W] (rows 1 … N·L of the final-normed
     * tokens), L2P's classifier input (methods/l2p.md §5).
     *
     * @param tokens the final-normed tokens [B, T + N·L, W] of a forward with input prompts
     * @param prompts the input prompts of that forward
     * @return the mean, in the current scope
     */
    public Tensor promptMean(Tensor tokens, Prompts prompts) {
        ensureOpen("promptMean");
        requireInputPrompts("promptMean", prompts);
        Tensor out = be.empty(tokens.dim(0), cfg.width());
        be.tokenRangeMean(tokens, 1, prompts.inputTokens(), out);
        return out;
    }

    /**
     * Backward from the gradient of {@link #promptMean} of {@link #forward}'s tokens: the
     * gradient of the input prompt pool comes back as {@link PromptGradients#input()}.
     *
     * @param act the activations of {@link #forward} with input prompts
     * @param dMean gradient of the prompt mean [B, W]
     * @param imageGradient whether the images' gradient is wanted
     * @return the gradients; close them
     */
    public PromptGradients backwardPromptMean(Activations act, Tensor dMean, boolean imageGradient) {
        return use.call("backwardPromptMean", () -> {
            checkActivations(act, "backwardPromptMean");
            requireInputPrompts("backwardPromptMean", act.prompts);
            Tensor tokens = act.tokens();
            TensorArguments.requireF32("backwardPromptMean", "dMean", dMean, be.device(), act.batch, cfg.width());
            try (Tensor dTokens = be.empty(tokens.shape())) {
                be.tokenRangeMeanBackward(dMean, 1, act.prompts.inputTokens(), dTokens);
                return backpropagate(act, dTokens, imageGradient);
            }
        });
    }

    private static void requireInputPrompts(String op, Prompts prompts) {
        if (prompts == null || prompts.kind() != Prompts.Kind.INPUT) {
            throw new IllegalArgumentException(op + ": needs input prompts (Prompts.input), got "
                    + (prompts == null ? "null" : prompts.kind()));
        }
    }

    private static Block.LayerPrompt layerPrompt(Prompts p, int layer) {
        return new Block.LayerPrompt(p.residual(layer), p.prefixKeys(layer), p.prefixValues(layer));
    }

    // ------------------------------------------------------------------ backward

    /**
     * Backward from the gradient of the final-normed tokens dTokens [B, T, W] (activations from
     * {@link #forward}). Returns the prompt gradients of every prompted layer and, if imageGradient,
     * the gradient of the images. Without image gradient the pass stops at the lowest prompted layer.
     *
     * @param act the activations of {@link #forward}
     * @param dTokens gradient of the tokens
     * @param imageGradient whether the images' gradient is wanted
     * @return the gradients; close them
     */
    public PromptGradients backward(Activations act, Tensor dTokens, boolean imageGradient) {
        return use.call("backward", () -> backwardTokens(act, dTokens, imageGradient));
    }

    private PromptGradients backwardTokens(Activations act, Tensor dTokens, boolean imageGradient) {
        checkActivations(act, "backward");
        if (act.clsOnly) {
            throw new IllegalStateException("backward: these activations come from forwardPooled and keep only the"
                    + " CLS token; use backwardPooled");
        }
        TensorArguments.requireF32("backward", "dTokens", dTokens, be.device(), act.batch,
                cfg.tokens() + act.prompts.inputTokens(), cfg.width());
        return backpropagate(act, dTokens, imageGradient);
    }

    /**
     * Backward from the gradient of the pooled CLS feature dPooled [B, W] only.
     *
     * @param act the activations of {@link #forwardPooled} or {@link #forward}
     * @param dPooled gradient of the pooled feature
     * @param imageGradient whether the images' gradient is wanted
     * @return the gradients; close them
     */
    public PromptGradients backwardPooled(Activations act, Tensor dPooled, boolean imageGradient) {
        return use.call("backwardPooled", () -> backwardFromPooled(act, dPooled, imageGradient));
    }

    private PromptGradients backwardFromPooled(Activations act, Tensor dPooled, boolean imageGradient) {
        checkActivations(act, "backwardPooled");
        TensorArguments.requireF32("backwardPooled", "dPooled", dPooled, be.device(), act.batch, cfg.width());
        if (act.clsOnly) return backpropagate(act, dPooled.reshape(act.batch, 1, cfg.width()), imageGradient);
        Tensor dTokens = be.zeros(act.batch, cfg.tokens() + act.prompts.inputTokens(), cfg.width());
        try {
            be.tokenScatterAdd(dPooled, new int[act.batch], dTokens);
            return backpropagate(act, dTokens, imageGradient);
        } finally {
            dTokens.close();
        }
    }

    private PromptGradients backpropagate(Activations act, Tensor dOut, boolean imageGradient) {
        PromptGradients grads = allocateGradients(act);
        int lowest = imageGradient ? 0 : lowestPromptedLayer(act.prompts);
        if (lowest < 0) return grads; // nothing depends on anything trainable
        try {
            Tensor dImage = null;
            try (TensorScope scope = TensorScope.open(); Profiler.Scope vitScope = be.profiler().scope("vit")) {
                Tensor last = act.streams.get(blocks.length);
                Tensor d = be.empty(last.shape()); // gradients stay f32 whatever the activations' dtype
                try (Profiler.Scope s = be.profiler().scope("norm")) {
                    be.layerNormBackward(dOut, last, normW, act.finalMean, act.finalRstd, d, null, null);
                }
                boolean inputPrompts = act.prompts.kind() == Prompts.Kind.INPUT;
                for (int l = blocks.length - 1; l >= lowest; l--) {
                    boolean needInputGrad = imageGradient || l > lowest || inputPrompts;
                    Tensor next;
                    try (Profiler.Scope s = be.profiler().scope("block", l)) {
                        next = blocks[l].backward(be, act.blocks.get(l), d, needInputGrad, grads.residual(l),
                                grads.prefixKeys(l), grads.prefixValues(l));
                    }
                    d.close(); // free each layer's stream gradient as soon as the layer below has it
                    d = next;
                }
                if (inputPrompts) d = inputPromptBackward(act.prompts, d, grads.input(), imageGradient);
                if (imageGradient) {
                    try (Profiler.Scope s = be.profiler().scope("patch_embed")) {
                        dImage = scope.retain(embedding.backward(be, d));
                    }
                }
            }
            if (dImage != null) grads.setImage(dImage);
            return grads;
        } catch (RuntimeException | Error e) {
            grads.close();
            throw e;
        }
    }

    /** Fills dPool from the gradient of the prompted sequence; returns that of the unprompted one, or null. */
    private Tensor inputPromptBackward(Prompts prompts, Tensor dSequence, Tensor dPool, boolean imageGradient) {
        Tensor dTokens = imageGradient ? be.empty(dSequence.dim(0), cfg.tokens(), cfg.width()) : null;
        try (Profiler.Scope s = be.profiler().scope("input_prompts")) {
            be.promptConcatBackward(dSequence, prompts.inputSelection(), dPool, dTokens);
        }
        return dTokens;
    }

    /** Gradient tensors shaped like each layer's prompts (in the caller's scope). */
    private PromptGradients allocateGradients(Activations act) {
        PromptGradients g = new PromptGradients(blocks.length);
        Prompts p = act.prompts;
        for (int l = 0; l < blocks.length; l++) {
            g.set(l, like(p.residual(l)), like(p.prefixKeys(l)), like(p.prefixValues(l)));
        }
        g.setInput(like(p.inputPool()));
        return g;
    }

    private Tensor like(Tensor t) {
        return t == null ? null : be.empty(t.shape());
    }

    private int lowestPromptedLayer(Prompts p) {
        if (p.kind() == Prompts.Kind.INPUT) return 0;
        for (int l = 0; l < blocks.length; l++) {
            if (p.hasPrompt(l)) return l;
        }
        return -1;
    }

    // ------------------------------------------------------------------ checks

    private int checkInputs(Tensor images, Prompts prompts) {
        ensureOpen("forward");
        Objects.requireNonNull(prompts, "prompts (use Prompts.none())");
        if (images == null) throw new IllegalArgumentException("forward: images are null");
        images.ensureOpen("forward");
        int side = cfg.imageSize();
        if (images.rank() != 4 || images.dim(0) < 1) {
            throw new IllegalArgumentException("forward: images must be [B, " + cfg.channels() + ", " + side + ", "
                    + side + "], got " + images);
        }
        TensorArguments.requireF32("forward", "images", images, be.device(), images.dim(0), cfg.channels(), side,
                side);
        int batch = Math.toIntExact(images.dim(0));
        prompts.validate(cfg.depth(), batch, cfg.width(), be.device());
        return batch;
    }

    private void checkActivations(Activations act, String op) {
        ensureOpen(op);
        if (act == null) throw new IllegalArgumentException(op + ": activations are null");
        if (act.model != this) throw new IllegalArgumentException(op + ": activations come from another model");
        act.ensureOpen(op);
    }

    private void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": this VisionTransformer is closed");
    }

    /**
     * Frees the weights. Idempotent.
     *
     * @throws IllegalStateException if another thread is inside the model (its call would read
     *     freed memory)
     */
    @Override
    public void close() {
        use.run("close", () -> {
            if (closed) return;
            closed = true;
            embedding.close();
            for (Block b : blocks) b.close();
            normW.close();
            normB.close();
        });
    }

    /** The guard of the one-thread rule; for tests that hold the model busy. */
    ExclusiveUse exclusiveUse() {
        return use;
    }

    @Override
    public String toString() {
        return cfg + " on " + be.name();
    }
}
