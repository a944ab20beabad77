package io.starprompt.backend.reference;

/**
 * CODA-Prompt's component weighting (methods/coda-prompt.md §3, §6) as the literal definition in
 * float64: for every layer, image and used component the vector u = q ⊙ A_k is formed, the cosine
 * to K_k taken, and its gradient differentiated term by term. The optimised kernels are checked
 * against it.
 */
public final class ComponentWeightingKernels {
    /** Floor of both norms in the cosine (torch's F.normalize). */
    static final double MIN_NORM = 1e-12;

    private ComponentWeightingKernels() {}

    /** Sizes of one call: batch B, components M, used f, width D, row R, layers L. */
    record Shape(int batch, int components, int used, int d, int row, int layers) {
        int vec(int l, int k) {
            return (l * components + k) * d;
        }

        int comp(int l, int k) {
            return (l * components + k) * row;
        }

        int out(int l, int b) {
            return (l * batch + b) * row;
        }
    }

    /**
     * α [L, B, f] and out [L, B, R] = α·P of every layer.
     *
     * @param q queries [B, D]
     * @param keys K [L, M, D]
     * @param attn A [L, M, D]
     * @param comps P [L, M, R]
     * @param s the sizes
     * @param alpha the weights, overwritten
     * @param out the weighted sums, overwritten
     */
    static void forward(float[] q, float[] keys, float[] attn, float[] comps, Shape s, float[] alpha, float[] out) {
        for (int l = 0; l < s.layers(); l++) {
            for (int b = 0; b < s.batch(); b++) {
                double[] sum = new double[s.row()];
                for (int k = 0; k < s.used(); k++) {
                    double a = cosine(q, b, attn, keys, s.vec(l, k), s.d());
                    alpha[(l * s.batch() + b) * s.used() + k] = (float) a;
                    for (int j = 0; j < s.row(); j++) sum[j] += a * comps[s.comp(l, k) + j];
                }
                for (int j = 0; j < s.row(); j++) out[s.out(l, b) + j] = (float) sum[j];
            }
        }
    }

    /**
     * Gradients of K, A and P (overwritten; zero outside the trained components [from, f)).
     *
     * @param q queries [B, D]
     * @param keys K [L, M, D]
     * @param attn A [L, M, D]
     * @param comps P [L, M, R]
     * @param dout gradient of the weighted sums [L, B, R]
     * @param s the sizes
     * @param from first trained component
     * @param dkeys gradient of K, overwritten
     * @param dattn gradient of A, overwritten
     * @param dcomps gradient of P, overwritten
     */
    static void backward(float[] q, float[] keys, float[] attn, float[] comps, float[] dout, Shape s, int from,
            float[] dkeys, float[] dattn, float[] dcomps) {
        java.util.Arrays.fill(dkeys, 0f);
        java.util.Arrays.fill(dattn, 0f);
        java.util.Arrays.fill(dcomps, 0f);
        int d = s.d();
        for (int l = 0; l < s.layers(); l++) {
            for (int k = from; k < s.used(); k++) {
                int v = s.vec(l, k);
                double[] dk = new double[d], da = new double[d], dp = new double[s.row()];
                for (int b = 0; b < s.batch(); b++) {
                    double a = cosine(q, b, attn, keys, v, d);
                    double g = 0;
                    for (int j = 0; j < s.row(); j++) {
                        g += (double) dout[s.out(l, b) + j] * comps[s.comp(l, k) + j];
                        dp[j] += a * dout[s.out(l, b) + j];
                    }
                    addCosineGradients(q, b, attn, keys, v, d, a, g, da, dk);
                }
                store(dkeys, v, dk);
                store(dattn, v, da);
                store(dcomps, s.comp(l, k), dp);
            }
        }
    }

    /** ⟨u/max(‖u‖, ε), K/max(‖K‖, ε)⟩ with u = q_b ⊙ A, for the rows of A and K at offset v. */
    private static double cosine(float[] q, int b, float[] attn, float[] keys, int v, int d) {
        double dot = 0, uu = 0, kk = 0;
        for (int j = 0; j < d; j++) {
            double u = (double) q[b * d + j] * attn[v + j];
            dot += u * keys[v + j];
            uu += u * u;
            kk += (double) keys[v + j] * keys[v + j];
        }
        return dot / (Math.max(Math.sqrt(uu), MIN_NORM) * Math.max(Math.sqrt(kk), MIN_NORM));
    }

    /**
     * Adds g·∂α/∂A and g·∂α/∂K of one image to da, dk. With m = ‖u‖, n = ‖K‖ and their floors
     * m', n': ∂α/∂u = (K̂ − α·u/m)/m above the floor and K̂/ε at it; ∂α/∂K = (u/m' − α·K/n)/n above
     * the floor and (u/m')/ε at it; ∂u/∂A = q.
     */
    private static void addCosineGradients(float[] q, int b, float[] attn, float[] keys, int v, int d, double a,
            double g, double[] da, double[] dk) {
        double uu = 0, kk = 0;
        for (int j = 0; j < d; j++) {
            double u = (double) q[b * d + j] * attn[v + j];
            uu += u * u;
            kk += (double) keys[v + j] * keys[v + j];
        }
        double m = Math.sqrt(uu), n = Math.sqrt(kk);
        double mc = Math.max(m, MIN_NORM), nc = Math.max(n, MIN_NORM);
        for (int j = 0; j < d; j++) {
            double qj = q[b * d + j], u = qj * attn[v + j], khat = keys[v + j] / nc;
            double du = m > MIN_NORM ? (khat - a * u / m) / m : khat / MIN_NORM;
            double dkey = n > MIN_NORM ? (u / mc - a * keys[v + j] / n) / n : (u / mc) / MIN_NORM;
            da[j] += g * du * qj;
            dk[j] += g * dkey;
        }
    }

    private static void store(float[] target, int offset, double[] values) {
        for (int j = 0; j < values.length; j++) target[offset + j] = (float) values[j];
    }
}
