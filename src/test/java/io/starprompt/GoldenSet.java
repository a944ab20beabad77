package io.starprompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The golden reference set (outputs of timm / HF transformers in float64): its folder comes
 * is {@code -Dstarprompt.golden.dir} if set, else the project's own set under
 * {@code src/test/resources/golden} (on the test classpath as {@code /golden}). Sizes are read from
 * meta.json and the tensors, never assumed, so another set of the same layout works too.
 */
public final class GoldenSet implements AutoCloseable {
    public static final double FORWARD_TOL = 1e-4;
    public static final double GRADIENT_REL_L2 = 1e-4;
    /** The gradient tolerance in force: GRADIENT_REL_L2, or wider while reduced-precision runs of the same tests go on. */
    private static double gradientTol = GRADIENT_REL_L2;
    /** When positive, forward values are checked by relative L2 error against it instead of elementwise. */
    private static double forwardRelL2 = 0;

    private final Path dir;
    private final Object meta;
    private final SafetensorsFile golden;

    private GoldenSet(Path dir) throws IOException {
        this.dir = dir;
        this.meta = Json.parse(Files.readString(dir.resolve("meta.json")));
        this.golden = SafetensorsFile.open(dir.resolve("golden.safetensors"));
    }

    public static Path dir() {
        String override = System.getProperty("starprompt.golden.dir");
        if (override != null && !override.isBlank()) return Path.of(override);
        URL meta = GoldenSet.class.getResource("/golden/meta.json");
        if (meta == null) fail("the golden set is not on the test classpath (src/test/resources/golden)");
        try {
            return Path.of(meta.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("golden set location " + meta, e);
        }
    }

    public static GoldenSet open() {
        Path d = dir();
        if (!Files.isRegularFile(d.resolve("golden.safetensors"))) {
            fail("golden set not found in " + d.toAbsolutePath() + " (set -Dstarprompt.golden.dir)");
        }
        try {
            return new GoldenSet(d);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path path(String file) {
        return dir.resolve(file);
    }

    public Object meta() {
        return meta;
    }

    public int metaInt(String... keys) {
        return Json.intAt(meta, keys);
    }

    public float[] get(String name) {
        return golden.readFloats(name);
    }

    public long[] shape(String name) {
        return golden.info(name).shape();
    }

    /** A tensor of whole numbers stored as floats (labels, token ids), rounded to ints. */
    public int[] ints(String name) {
        float[] v = get(name);
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.round(v[i]);
        return out;
    }

    /** clip.input_ids: C rows of 77 token ids, stored as floats [C, 77]. */
    public int[][] clipInputIds() {
        int[] flat = ints("clip.input_ids");
        int cols = (int) shape("clip.input_ids")[1];
        int[][] ids = new int[flat.length / cols][];
        for (int r = 0; r < ids.length; r++) ids[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        return ids;
    }

    @Override
    public void close() {
        golden.close();
    }

    /**
     * Makes {@link #assertForward} and {@link #assertGradient(String, float[], float[])} check the
     * relative L2 error against tolerance (a reduced-precision run: its error is spread over every
     * element, so single elements of a large tensor may stray further); 0 restores the defaults.
     *
     * @param tolerance the relative L2 tolerance of forward values and gradients, or 0
     */
    public static void useRelativeL2(double tolerance) {
        forwardRelL2 = tolerance;
        gradientTol = tolerance > 0 ? tolerance : GRADIENT_REL_L2;
    }

    /** Forward values: max |ours − ref| ≤ 1e-4·(1 + |ref|) elementwise (or the relative L2 error in force). */
    public static void assertForward(String what, float[] ref, float[] ours) {
        if (forwardRelL2 > 0) {
            assertGradient(what, ref, ours, forwardRelL2);
            return;
        }
        assertEquals(ref.length, ours.length, what + " length");
        for (int i = 0; i < ref.length; i++) {
            double allowed = FORWARD_TOL * (1 + Math.abs(ref[i]));
            if (!(Math.abs((double) ours[i] - ref[i]) <= allowed)) {
                fail(what + "[" + i + "] = " + ours[i] + ", golden " + ref[i]);
            }
        }
    }

    /** Gradients: ‖ours − ref‖ / ‖ref‖ ≤ 1e-4 (the gradient tolerance in force; exact zeros must stay zero-sized errors). */
    public static void assertGradient(String what, float[] ref, float[] ours) {
        assertGradient(what, ref, ours, gradientTol);
    }

    public static void assertGradient(String what, float[] ref, float[] ours, double tolerance) {
        assertEquals(ref.length, ours.length, what + " length");
        double diff = 0, norm = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) ours[i] - ref[i];
            diff += d * d;
            norm += (double) ref[i] * ref[i];
        }
        assertTrue(norm > 0, what + ": golden gradient is all zero");
        double rel = Math.sqrt(diff / norm);
        assertTrue(rel <= tolerance, what + ": relative L2 error " + rel + " > " + tolerance);
    }

    public static void assertShape(String what, long[] expected, long[] actual) {
        assertArrayEquals(expected, actual, what + " shape");
    }
}
