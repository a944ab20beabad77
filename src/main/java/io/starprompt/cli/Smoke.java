package io.starprompt.cli;

import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.nativeapi.NativeLib;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * End-to-end smoke run of the backends: one STAR-Prompt-shaped step (retrieval of per-layer
 * prompts, prompted attention forward and backward, retrieval backward) at a small size on every
 * backend usable here, each compared with the float64 reference backend.
 * Exit status 0 iff every backend agrees with the reference.
 */
public final class Smoke {
    private static final int B = 4, N = 50, HEADS = 4, HD = 32, W = HEADS * HD, LAYERS = 3, CLASSES = 10,
            SEEN = 8, PAST = 3, D = 48;

    private Smoke() {}

    /**
     * Runs the smoke on every available backend, printing one line each; true iff all agree.
     *
     * @param out where the lines go
     * @return whether every backend agrees with the reference
     */
    public static boolean run(PrintStream out) {
        out.println("starprompt smoke: " + NativeLib.version());
        List<float[]> reference = null;
        boolean ok = true;
        for (String name : Backends.available()) {
            try (Backend backend = Backends.create(name); TensorScope scope = TensorScope.open()) {
                long start = System.nanoTime();
                List<float[]> results = step(backend);
                double ms = (System.nanoTime() - start) / 1e6;
                if (reference == null) reference = results;
                double err = maxRelativeError(reference, results);
                boolean agrees = err < 1e-3;
                ok &= agrees;
                out.printf("  %-9s %8.1f ms   max rel. error vs reference %.2e  %s%n", name, ms, err,
                        agrees ? "ok" : "MISMATCH");
            }
        }
        out.println(ok ? "smoke passed" : "smoke FAILED");
        return ok;
    }

    private static List<float[]> step(Backend be) {
        Random rnd = new Random(7);
        Tensor q = be.fromArray(uniform(rnd, B * D, 0.1, 2), B, D);
        Tensor keys = be.fromArray(unitRows(rnd, SEEN, D), SEEN, D);
        Tensor a = be.fromArray(uniform(rnd, LAYERS * CLASSES * D, -1, 1), LAYERS, CLASSES, D);
        Tensor p = be.fromArray(uniform(rnd, LAYERS * CLASSES * W, -1, 1), LAYERS, CLASSES, W);
        RetrievalInputs ret = new RetrievalInputs(q, keys, a, p, SEEN, true);
        Tensor sims = be.empty(LAYERS, B, SEEN), sp = be.empty(LAYERS, B, W);
        Tensor sel = be.empty(DType.I32, LAYERS, B);
        be.retrieval(ret, sims, sel, sp);

        Tensor x = be.fromArray(uniform(rnd, B * N * W, -1, 1), B, N, W);
        Tensor dsp = be.zeros(LAYERS, B, W);
        List<float[]> results = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            Tensor prompt = sp.rows(l, 1).reshape(B, W);
            AttentionInputs in = new AttentionInputs(x, x, x, null, null, prompt, HEADS, (float) (1 / Math.sqrt(HD)),
                    false);
            Tensor out = be.empty(B, N, W), lse = be.empty(B, HEADS, N);
            be.attention(in, out, lse);
            AttentionGrads g = new AttentionGrads(be.empty(B, N, W), be.empty(B, N, W), be.empty(B, N, W), null, null,
                    dsp.rows(l, 1).reshape(B, W));
            be.attentionBackward(in, out, lse, out, g);
            results.add(be.toFloatArray(out));
        }
        Tensor dA = be.empty(LAYERS, CLASSES, D), dP = be.empty(LAYERS, CLASSES, W);
        be.retrievalBackward(ret, sims, sel, dsp, PAST, dA, dP);
        results.add(be.toFloatArray(sims));
        results.add(be.toFloatArray(dA));
        results.add(be.toFloatArray(dP));
        return results;
    }

    private static float[] uniform(Random rnd, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + rnd.nextDouble() * (hi - lo));
        return v;
    }

    private static float[] unitRows(Random rnd, int rows, int cols) {
        float[] v = uniform(rnd, rows * cols, -1, 1);
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int j = 0; j < cols; j++) n += v[r * cols + j] * v[r * cols + j];
            for (int j = 0; j < cols; j++) v[r * cols + j] /= (float) Math.sqrt(n);
        }
        return v;
    }

    private static double maxRelativeError(List<float[]> ref, List<float[]> ours) {
        double worst = 0;
        for (int t = 0; t < ref.size(); t++) {
            float[] r = ref.get(t), o = ours.get(t);
            double scale = 0;
            for (float v : r) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < r.length; i++) {
                double e = Math.abs(o[i] - r[i]) / Math.max(scale, 1e-12);
                if (!(e <= worst)) worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
            }
        }
        return worst;
    }
}
