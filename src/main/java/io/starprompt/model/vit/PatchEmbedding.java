package io.starprompt.model.vit;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * A ViT's patch embedding plus class token and positional embedding (timm's {@code patch_embed} +
 * {@code _pos_embed}, HF CLIP's {@code CLIPVisionEmbeddings}): a p×p stride-p convolution written
 * as im2col (on the host) and one GEMM with the conv weight viewed as [W, C·p·p], then the CLS
 * token and the positional embedding. The im2col matrix has one row per token, the CLS rows left
 * zero, so the GEMM writes the whole [B, T, W] sequence at once and a single per-token bias table
 * (CLS + pos[0] for token 0, conv bias + pos[t] for patch tokens) completes it.
 */
public final class PatchEmbedding implements AutoCloseable {
    private final VitConfig cfg;
    private final Tensor weight;     // [W, C·p·p], a view of the loaded conv weight [W, C, p, p]
    private final Tensor weightOwner;
    private final Tensor tokenBias;  // [T·W]

    private PatchEmbedding(VitConfig cfg, Tensor weightOwner, Tensor tokenBias) {
        this.cfg = cfg;
        this.weightOwner = weightOwner;
        this.weight = weightOwner.reshape(cfg.width(), cfg.patchDim());
        this.tokenBias = tokenBias;
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
        return new PatchEmbedding(cfg, conv, r.track(r.backend().fromArray(bias, (long) t * w)));
    }

    /** images [B, C, H, W] → token sequence [B, T, W] (a new tensor in the current scope). */
    public Tensor forward(Backend be, Tensor images) {
        int batch = (int) images.dim(0);
        float[] cols = im2col(be.toFloatArray(images), batch, cfg);
        long rows = (long) batch * cfg.tokens();
        try (TensorScope scope = TensorScope.open()) {
            Tensor patches = be.fromArray(cols, rows, cfg.patchDim());
            Tensor x = be.empty(batch, cfg.tokens(), cfg.width());
            be.gemm(patches, false, weight, true, x.reshape(rows, cfg.width()), 1f, 0f);
            be.addBias(x.reshape(batch, (long) cfg.tokens() * cfg.width()), tokenBias);
            return scope.retain(x);
        }
    }

    /** Gradient of the images [B, C, H, W] (host array) from the gradient of the token sequence. */
    float[] backward(Backend be, Tensor dTokens) {
        int batch = (int) dTokens.dim(0);
        long rows = (long) batch * cfg.tokens();
        try (TensorScope ignored = TensorScope.open()) {
            Tensor dCols = be.empty(rows, cfg.patchDim());
            be.gemm(dTokens.reshape(rows, cfg.width()), false, weight, false, dCols, 1f, 0f);
            return col2im(be.toFloatArray(dCols), batch, cfg);
        }
    }

    /**
     * images [B, C, H, W] → [B·T, C·p·p]: row b·T + 1 + (gy·G + gx) holds patch (gy, gx) in (c, ky, kx)
     * order (the conv weight's layout and timm's row-major patch order); row b·T (CLS) stays zero.
     */
    static float[] im2col(float[] images, int batch, VitConfig cfg) {
        float[] cols = new float[Math.toIntExact((long) batch * cfg.tokens() * cfg.patchDim())];
        forEachPixel(batch, cfg, (col, pix) -> cols[col] = images[pix]);
        return cols;
    }

    /** Adjoint of {@link #im2col}: patches do not overlap, so every pixel gets exactly one value. */
    static float[] col2im(float[] cols, int batch, VitConfig cfg) {
        int side = cfg.imageSize();
        float[] images = new float[Math.toIntExact((long) batch * cfg.channels() * side * side)];
        forEachPixel(batch, cfg, (col, pix) -> images[pix] = cols[col]);
        return images;
    }

    private interface PixelVisitor {
        void visit(int colIndex, int pixelIndex);
    }

    /** Visits every (im2col index, image index) pair of the patch permutation. */
    private static void forEachPixel(int batch, VitConfig cfg, PixelVisitor v) {
        int c = cfg.channels(), p = cfg.patchSize(), g = cfg.grid(), side = cfg.imageSize();
        int t = cfg.tokens(), pd = cfg.patchDim();
        for (int b = 0; b < batch; b++) {
            for (int gy = 0; gy < g; gy++) {
                for (int gx = 0; gx < g; gx++) {
                    int row = b * t + 1 + gy * g + gx;
                    for (int ch = 0; ch < c; ch++) {
                        for (int ky = 0; ky < p; ky++) {
                            int col = row * pd + (ch * p + ky) * p;
                            int pix = ((b * c + ch) * side + gy * p + ky) * side + gx * p;
                            for (int kx = 0; kx < p; kx++) v.visit(col + kx, pix + kx);
                        }
                    }
                }
            }
        }
    }

    /** Frees the conv weight and the bias table. */
    @Override
    public void close() {
        weightOwner.close();
        tokenBias.close();
    }
}
