package io.starprompt.model.vit;

/**
 * Sizes of a timm {@code VisionTransformer} with a CLS token, as deduced from its weights (all but
 * {@code heads}, which a state dict does not record).
 *
 * @param channels  image channels (3 for RGB)
 * @param imageSize square input side in pixels
 * @param patchSize square patch side (conv kernel and stride)
 * @param width     embedding width W
 * @param depth     number of transformer blocks
 * @param heads     attention heads (divides width)
 * @param mlpHidden hidden width of each block's MLP
 */
public record VitConfig(int channels, int imageSize, int patchSize, int width, int depth, int heads, int mlpHidden) {

    /** LayerNorm epsilon of timm's ViT (partial(nn.LayerNorm, eps=1e-6)). */
    public static final float LAYER_NORM_EPS = 1e-6f;

    /**
     * Validates that every size is positive and the image a multiple of the patch.
     *
     * @param channels image channels C
     * @param imageSize image side S
     * @param patchSize patch side p
     * @param width token width W
     * @param depth the number of blocks
     * @param heads attention heads
     * @param mlpHidden the MLP's hidden width
     */
    public VitConfig {
        if (channels <= 0 || patchSize <= 0 || width <= 0 || depth <= 0 || mlpHidden <= 0) {
            throw new IllegalArgumentException("ViT sizes must be positive: " + describe(channels, imageSize,
                    patchSize, width, depth, heads, mlpHidden));
        }
        if (imageSize <= 0 || imageSize % patchSize != 0) {
            throw new IllegalArgumentException("image size " + imageSize + " is not a positive multiple of patch size "
                    + patchSize);
        }
        long grid = imageSize / patchSize;
        if (grid * grid + 1 > Integer.MAX_VALUE || (long) channels * patchSize * patchSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image size " + imageSize + ", patch size " + patchSize + " and "
                    + channels + " channels give token or patch counts beyond 32 bits");
        }
        if (heads <= 0 || width % heads != 0) {
            throw new IllegalArgumentException("heads = " + heads + " does not divide the width " + width);
        }
    }

    /**
     * Patches per image side.
     *
     * @return the grid side
     */
    public int grid() {
        return imageSize / patchSize;
    }

    /**
     * Patches per image.
     *
     * @return the number of patches
     */
    public int patches() {
        return grid() * grid();
    }

    /**
     * Sequence length: CLS token plus patches.
     *
     * @return T
     */
    public int tokens() {
        return patches() + 1;
    }

    /**
     * The width of one attention head.
     *
     * @return width / heads
     */
    public int headDim() {
        return width / heads;
    }

    /**
     * Length of one flattened patch, in the conv weight's (channel, ky, kx) order.
     *
     * @return C·p·p
     */
    public int patchDim() {
        return channels * patchSize * patchSize;
    }

    @Override
    public String toString() {
        return describe(channels, imageSize, patchSize, width, depth, heads, mlpHidden);
    }

    private static String describe(int c, int img, int p, int w, int d, int h, int m) {
        return "ViT(channels " + c + ", image " + img + ", patch " + p + ", width " + w + ", depth " + d
                + ", heads " + h + ", mlp " + m + ")";
    }
}
