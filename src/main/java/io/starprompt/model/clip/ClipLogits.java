package io.starprompt.model.clip;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Objects;

/**
 * First-stage logits (ALGORITHM.md §3.3): z[b, c] = exp(logitScale)·cos(q_b, k_c) of image features q
 * [B, P] and text features k [C, P], and the backward pass to the text features (the image
 * features come from the frozen tower and get no gradient). The two row normalisations are done
 * on the host: they are [B, P] and [C, P] small, next to the towers.
 *
 * <pre>{@code
 * try (ClipLogits z = ClipLogits.compute(be, q, keys.features(), clip.logitScale())) {
 *     float loss = be.crossEntropy(z.logits(), labels, lo, hi, dLogits);
 *     Tensor dCtx = clip.textBackward(keys, z.textGradient(dLogits));
 * }
 * }</pre>
 */
public final class ClipLogits implements AutoCloseable {
    /** torch.nn.functional.normalize's default eps: ‖x‖ is clamped below by it. */
    private static final double NORMALIZE_EPS = 1e-12;

    private final Backend be;
    private final float scale;            // exp(logitScale)
    private final Tensor imageUnit;       // q̂ [B, P]
    private final Tensor textUnit;        // k̂ [C, P]
    private final float[] textUnitHost;   // k̂ on the host, for the normalisation backward
    private final double[] textNorms;     // max(‖k_c‖, eps)
    private final Tensor logits;          // [B, C]

    private ClipLogits(Backend be, float scale, Tensor imageUnit, Tensor textUnit, float[] textUnitHost,
            double[] textNorms, Tensor logits) {
        this.be = be;
        this.scale = scale;
        this.imageUnit = imageUnit;
        this.textUnit = textUnit;
        this.textUnitHost = textUnitHost;
        this.textNorms = textNorms;
        this.logits = logits;
    }

    /**
     * Logits of image features [B, P] against text features [C, P] (both un-normalised) with the
     * stored log logit scale (exp is applied here). The result owns its tensors; close it.
     *
     * @param be the backend
     * @param imageFeatures [B, P]
     * @param textFeatures [C, P]
     * @param logitScale the log logit scale
     * @return the logits and what their gradient needs
     */
    public static ClipLogits compute(Backend be, Tensor imageFeatures, Tensor textFeatures, float logitScale) {
        Objects.requireNonNull(be, "backend");
        check(be, "imageFeatures", imageFeatures);
        check(be, "textFeatures", textFeatures);
        long b = imageFeatures.dim(0), c = textFeatures.dim(0), p = imageFeatures.dim(1);
        if (textFeatures.dim(1) != p) {
            throw new IllegalArgumentException("ClipLogits: image features " + imageFeatures + " and text features "
                    + textFeatures + " differ in width");
        }
        float scale = (float) Math.exp(logitScale);
        float[] imageHost = be.toFloatArray(imageFeatures), textHost = be.toFloatArray(textFeatures);
        normalizeRows(imageHost, (int) p);
        double[] textNorms = normalizeRows(textHost, (int) p);
        try (TensorScope scope = TensorScope.open()) {
            Tensor imageUnit = be.fromArray(imageHost, b, p), textUnit = be.fromArray(textHost, c, p);
            Tensor logits = be.empty(b, c);
            be.gemm(imageUnit, false, textUnit, true, logits, scale, 0f);
            scope.retain(imageUnit);
            scope.retain(textUnit);
            scope.retain(logits);
            return new ClipLogits(be, scale, imageUnit, textUnit, textHost, textNorms, logits);
        }
    }

    /**
     * The logits [B, C].
     *
     * @return the logits
     */
    public Tensor logits() {
        logits.ensureOpen("logits");
        return logits;
    }

    /**
     * Gradient of the (un-normalised) text features [C, P] from the gradient of the logits
     * dLogits [B, C]; a new tensor in the current scope.
     *
     * @param dLogits gradient of the logits
     * @return the gradient of the text features
     */
    public Tensor textGradient(Tensor dLogits) {
        check(be, "dLogits", dLogits);
        if (dLogits.dim(0) != logits.dim(0) || dLogits.dim(1) != logits.dim(1)) {
            throw new IllegalArgumentException("textGradient: dLogits " + dLogits + " is not shaped like the logits "
                    + logits);
        }
        int c = (int) textUnit.dim(0), p = (int) textUnit.dim(1);
        float[] dUnit;
        try (TensorScope ignored = TensorScope.open()) {
            // dk̂ = s · dZᵀ · q̂
            Tensor d = be.empty(c, p);
            be.gemm(dLogits, true, imageUnit, false, d, scale, 0f);
            dUnit = be.toFloatArray(d);
        }
        // k̂ = k / ‖k‖ ⇒ dk = (dk̂ − k̂ ⟨k̂, dk̂⟩) / ‖k‖
        float[] dText = new float[c * p];
        for (int row = 0; row < c; row++) {
            int o = row * p;
            double dot = 0;
            for (int j = 0; j < p; j++) dot += (double) textUnitHost[o + j] * dUnit[o + j];
            for (int j = 0; j < p; j++) {
                dText[o + j] = (float) ((dUnit[o + j] - textUnitHost[o + j] * dot) / textNorms[row]);
            }
        }
        return be.fromArray(dText, c, p);
    }

    /** Divides each row by max(‖row‖, eps) in place; returns those divisors. */
    private static double[] normalizeRows(float[] x, int width) {
        double[] norms = new double[x.length / width];
        for (int row = 0; row < norms.length; row++) {
            double sq = 0;
            for (int j = 0; j < width; j++) sq += (double) x[row * width + j] * x[row * width + j];
            norms[row] = Math.max(Math.sqrt(sq), NORMALIZE_EPS);
            for (int j = 0; j < width; j++) x[row * width + j] = (float) (x[row * width + j] / norms[row]);
        }
        return norms;
    }

    private static void check(Backend be, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException("ClipLogits: " + name + " is null");
        t.ensureOpen("ClipLogits");
        if (t.device() != be.device() || t.dtype() != DType.F32 || t.rank() != 2) {
            throw new IllegalArgumentException("ClipLogits: " + name + " must be an f32 [rows, width] tensor on "
                    + be.device().name().toLowerCase() + ", got " + t);
        }
    }

    /** Frees the logits and the normalised features. Idempotent. */
    @Override
    public void close() {
        imageUnit.close();
        textUnit.close();
        logits.close();
    }
}
