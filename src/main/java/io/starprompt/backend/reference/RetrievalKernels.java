package io.starprompt.backend.reference;

/**
 * The STAR-Prompt key–query retrieval of every prompted layer, forward and backward
 * (native/cpu/retrieval_*.cpp).
 *
 * <p>Part of the float64 reference kernels (see the package description): sums in {@code double},
 * results rounded to {@code float} when stored. The arguments are taken as {@link
 * io.starprompt.backend.Backend} validated them (sizes consistent with the array lengths, indices
 * in range); call through a {@link ReferenceBackend} for checked arguments.
 */
public final class RetrievalKernels {
    /** Fixed factor of the retrieval cosine (STAR-Prompt §4.3). */
    public static final double RETRIEVAL_SCALE = 5.0;
    /** Floor of the norm in the retrieval cosine. */
    public static final double NORM_FLOOR = 1e-12;

    private RetrievalKernels() {}

    /**
     * STAR-Prompt key–query retrieval for all layers: for layer l, sample b, class c &lt; seen,
     * σ = softmax(a[l,c,:]), u = q[b]∘σ, sims[l,b,c] = 5·⟨u, keys[c]⟩/max(|u|, 1e-12); sel[l,b] = argmax_c
     * (computed on the double similarities, lowest index on ties); sp[l,b,:] = w·p[l,sel,:] with
     * w = sims[l,b,sel] when modulate, else 1. Shapes: q [batch,d], keys [seen,d], a [layers,classes,d],
     * p [layers,classes,dp], sims [layers,batch,seen], sel [layers,batch], sp [layers,batch,dp].
     *
     * @param q queries [batch, d]
     * @param keys unit keys [seen, d]
     * @param a modulation logits [layers, classes, d]
     * @param p prompt pools [layers, classes, dp]
     * @param batch the number of queries
     * @param seen the classes taking part
     * @param classes C, the rows of a and p per layer
     * @param d the query width
     * @param dp the prompt width
     * @param layers the number of layers
     * @param modulate whether the prompt is scaled by its similarity
     * @param sims similarities [layers, batch, seen], overwritten
     * @param sel selected classes [layers, batch], overwritten
     * @param sp selected, weighted prompts [layers, batch, dp], overwritten
     */
    public static void retrievalForward(float[] q, float[] keys, float[] a, float[] p, int batch, int seen,
            int classes, int d, int dp, int layers, boolean modulate, float[] sims, int[] sel, float[] sp) {

        for (int l = 0; l < layers; l++) {
            double[][] sigma = modulationSoftmax(a, l, seen, classes, d);
            for (int b = 0; b < batch; b++) {
                int best = 0;
                double bestSim = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < seen; c++) {
                    double sim = similarity(q, b, keys, c, sigma[c], d);
                    sims[(l * batch + b) * seen + c] = (float) sim;
                    if (sim > bestSim) {
                        bestSim = sim;
                        best = c;
                    }
                }
                sel[l * batch + b] = best;
                double w = modulate ? bestSim : 1.0;
                int promptRow = (l * classes + best) * dp;
                for (int e = 0; e < dp; e++) sp[(l * batch + b) * dp + e] = (float) (w * p[promptRow + e]);
            }
        }
    }

    /**
     * Retrieval backward given dsp [layers,batch,dp]: da [layers,classes,d] and dpGrad [layers,classes,dp]
     * are overwritten; only rows of selected current classes (past ≤ sel &lt; seen) are non-zero:
     * dpGrad[l,c] = Σ_{b: sel=c} w_b·dsp[l,b], and with modulate dA[l,c] = σ∘(G − ⟨G,σ⟩),
     * G = Σ_{b: sel=c} ⟨dsp[l,b], p[l,c]⟩·∂s_b/∂σ. Similarities are recomputed in double; sims (nullable)
     * is not read. sel entries must lie in [0, seen); one outside is an IllegalArgumentException.
     *
     * @param q queries [batch, d]
     * @param keys unit keys [seen, d]
     * @param a modulation logits [layers, classes, d]
     * @param p prompt pools [layers, classes, dp]
     * @param sims the forward's similarities, or null
     * @param sel the forward's selection [layers, batch]
     * @param dsp gradient of the selected prompts [layers, batch, dp]
     * @param batch the number of queries
     * @param seen the classes taking part
     * @param classes C
     * @param past classes below this get no gradient
     * @param d the query width
     * @param dp the prompt width
     * @param layers the number of layers
     * @param modulate whether the forward scaled the prompts by their similarity
     * @param da gradient of a, overwritten
     * @param dpGrad gradient of p, overwritten
     */
    public static void retrievalBackward(float[] q, float[] keys, float[] a, float[] p, float[] sims, int[] sel,
            float[] dsp, int batch, int seen, int classes, int past, int d, int dp, int layers, boolean modulate,
            float[] da, float[] dpGrad) {
        String op = "retrievalBackward";
        Numerics.requireIndices(op, "sel", sel, 0, seen);

        double[] daSum = new double[da.length];
        double[] dpSum = new double[dpGrad.length];
        for (int l = 0; l < layers; l++) {
            double[][] sigma = modulationSoftmax(a, l, seen, classes, d);
            double[][] gSigma = new double[seen][d];   // G_c = Σ_b g_b ∂s_b/∂σ_c
            for (int b = 0; b < batch; b++) {
                int c = sel[l * batch + b];
                if (c < past) continue;                // frozen (past) class: detached
                double sim = similarity(q, b, keys, c, sigma[c], d);
                double w = modulate ? sim : 1.0;
                int dspRow = (l * batch + b) * dp;
                int promptRow = (l * classes + c) * dp;
                double g = 0.0;                         // dL/dw
                for (int e = 0; e < dp; e++) {
                    dpSum[promptRow + e] += w * dsp[dspRow + e];
                    g += (double) dsp[dspRow + e] * p[promptRow + e];
                }
                if (modulate) {
                    double[] dsDsigma = similarityGradientWrtSigma(q, b, keys, c, sigma[c], d);
                    for (int e = 0; e < d; e++) gSigma[c][e] += g * dsDsigma[e];
                }
            }
            if (modulate) {
                for (int c = past; c < seen; c++) {
                    double[] dA = Numerics.softmaxBackwardRow(sigma[c], gSigma[c]);
                    int aRow = (l * classes + c) * d;
                    for (int e = 0; e < d; e++) daSum[aRow + e] = dA[e];
                }
            }
        }
        store(da, daSum);
        store(dpGrad, dpSum);
    }

    /** softmax(a[l, c, :]) for each class c < seen, in double. */
    private static double[][] modulationSoftmax(float[] a, int l, int seen, int classes, int d) {
        double[][] sigma = new double[seen][d];
        for (int c = 0; c < seen; c++) {
            int row = (l * classes + c) * d;
            for (int e = 0; e < d; e++) sigma[c][e] = a[row + e];
            Numerics.softmaxInPlace(sigma[c]);
        }
        return sigma;
    }

    /** s = 5·⟨u, keys[c]⟩ / max(|u|, 1e-12), u = q[b]∘σ. */
    private static double similarity(float[] q, int b, float[] keys, int c, double[] sigma, int d) {
        double dot = 0.0;
        double normSquared = 0.0;
        for (int e = 0; e < d; e++) {
            double u = q[b * d + e] * sigma[e];
            dot += u * keys[c * d + e];
            normSquared += u * u;
        }
        return RETRIEVAL_SCALE * dot / Math.max(Math.sqrt(normSquared), NORM_FLOOR);
    }

    /**
     * ∂s/∂σ = q∘∂s/∂u with ∂s/∂u = 5·(k/|u| − ⟨u,k⟩·u/|u|³); when |u| is below the floor the
     * denominator is the constant 1e-12 and ∂s/∂u = 5·k/1e-12.
     */
    private static double[] similarityGradientWrtSigma(float[] q, int b, float[] keys, int c, double[] sigma,
            int d) {
        double[] u = new double[d];
        double dot = 0.0;
        double normSquared = 0.0;
        for (int e = 0; e < d; e++) {
            u[e] = q[b * d + e] * sigma[e];
            dot += u[e] * keys[c * d + e];
            normSquared += u[e] * u[e];
        }
        double norm = Math.sqrt(normSquared);
        double[] grad = new double[d];
        for (int e = 0; e < d; e++) {
            double key = keys[c * d + e];
            double dsDu = norm > NORM_FLOOR
                    ? RETRIEVAL_SCALE * (key / norm - dot * u[e] / (norm * norm * norm))
                    : RETRIEVAL_SCALE * key / NORM_FLOOR;
            grad[e] = q[b * d + e] * dsDu;
        }
        return grad;
    }

    private static void store(float[] target, double[] values) {
        for (int i = 0; i < target.length; i++) target[i] = (float) values[i];
    }
}
