package io.starprompt.model.vit;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * A ViT's patch embedding plus class token and positional embedding (timm's {@code patch_embed} +
 * {@code _pos_embed}, HF CLIP's {@code CLIPVisionEmbeddings}): a p×p stride-p convolution written
 * as a patch permutation (Backend.patchify) and one GEMM with the conv weight viewed as [W, C·p·p], then the CLS
 * token and the positional embedding. The im2col matrix has one row per token, the CLS rows left
 * zero, so the GEMM writes the whole [B, T, W] sequence at once and a single per-token bias table
 * (CLS + pos[0] for token 0, conv bias + pos[t] for patch tokens) completes it.
 */
public final class PatchEmbedding implements AutoCloseable {
    private final VitConfig cfg;
    private final Tensor weight;     // [W, C·p·p], a view of the loaded conv weight [W, C, p, p]
    private final Tensor weightOwner;
    private final Tensor tokenBias;  // [T·W]
    private final Tensor classPosition; // [W], pos[0]: what input prompt tokens carry (methods/l2p.md §4)

    private PatchEmbedding(VitConfig cfg, Tensor weightOwner, Tensor tokenBias, Tensor classPosition) {
        this.cfg = cfg;
        this.weightOwner = weightOwner;
        this.weight = weightOwner.reshape(cfg.width(), cfg.patchDim());
        this.tokenBias = tokenBias;
        this.classPosition = classPosition;
    }

    static PatchEmbedding load(WeightReader r, VitConfig cfg) {
        int w = cfg.width(), t = cfg.tokens(), p = cfg.patchSize();
        Tensor conv = r.load("patch_embed.proj.weight", w, cfg.channels(), p, p);
        float[] convBias = r.read("patch_embed.proj.bias", w);
        float[] cls = r.read("cls_token", 1, 1, w);
        float[] pos = r.read("pos_embed", 1, t, w);
        return create(r, cfg, conv, convBias, cls, pos);
    }

    /**
     * An embedding over an uploaded conv weight [W, C, p, p] (owned from now on) and host copies of
     * the conv bias [W] (null: none, as in CLIP), the class token [W] and the positional table
     * [T, W]; only the geometry of cfg is used. The bias table it uploads is tracked by r.
     *
     * @param r the reader of the checkpoint
     * @param cfg the geometry
     * @param conv the conv weight
     * @param convBias the conv bias, or null
     * @param cls the class token
     * @param pos the positional table
     * @return the embedding
     */
    public static PatchEmbedding create(WeightReader r, VitConfig cfg, Tensor conv, float[] convBias, float[] cls,
            float[] pos) {
        int w = cfg.width(), t = cfg.tokens();
        float[] bias = new float[t * w];
        for (int tok = 0; tok < t; tok++) {
            for (int j = 0; j < w; j++) {
                float first = tok == 0 ? cls[j] : convBias == null ? 0f : convBias[j];
                bias[tok * w + j] = first + pos[tok * w + j];
            }
        }
        float[] classPosition = java.util.Arrays.copyOf(pos, w);
        return new PatchEmbedding(cfg, conv, r.frozen(bias, (long) t * w), r.frozen(classPosition, w));
    }

    /**
     * images [B, C, H, W] → token sequence [B, T, W] (a new tensor in the current scope), stored
     * in the dtype of the weights: the tower's activation dtype starts here.
     *
     * @param be the backend
     * @param images the images
     * @return the tokens
     */
    public Tensor forward(Backend be, Tensor images) {
        int batch = (int) images.dim(0);
        long rows = (long) batch * cfg.tokens();
        try (TensorScope scope = TensorScope.open()) {
            Tensor patches = be.empty(weight.dtype(), batch, cfg.tokens(), cfg.patchDim());
            be.patchify(images, cfg.patchSize(), patches);
            Tensor x = be.empty(weight.dtype(), batch, cfg.tokens(), cfg.width());
            be.gemm(patches.reshape(rows, cfg.patchDim()), false, weight, true, x.reshape(rows, cfg.width()), 1f, 0f);
            be.addBias(x.reshape(batch, (long) cfg.tokens() * cfg.width()), tokenBias);
            return scope.retain(x);
        }
    }

    /** Gradient of the images [B, C, H, W] from the gradient of the token sequence (current scope). */
    Tensor backward(Backend be, Tensor dTokens) {
        int batch = (int) dTokens.dim(0);
        long rows = (long) batch * cfg.tokens();
        try (TensorScope scope = TensorScope.open()) {
            Tensor dCols = be.empty(dTokens.dtype(), batch, cfg.tokens(), cfg.patchDim());
            be.gemm(dTokens.reshape(rows, cfg.width()), false, weight, false, dCols.reshape(rows, cfg.patchDim()), 1f,
                    0f);
            Tensor dImages = be.empty(batch, cfg.channels(), cfg.imageSize(), cfg.imageSize());
            be.unpatchify(dCols, cfg.patchSize(), dImages);
            return scope.retain(dImages);
        }
    }

    /**
     * The positional embedding of the class token's position [W], which input prompt tokens
     * receive (methods/l2p.md §4).
     *
     * @return pos[0]
     */
    public Tensor classPosition() {
        return classPosition;
    }

    /** Frees the conv weight, the bias table and the class position's embedding. */
    @Override
    public void close() {
        weightOwner.close();
        tokenBias.close();
        classPosition.close();
    }
}
