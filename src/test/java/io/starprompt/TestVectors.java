package io.starprompt;

import java.util.Random;

/** Random vectors and steps along a direction, for finite-difference checks. */
public final class TestVectors {
    private TestVectors() {}

    /** n values N(0, scale²). */
    public static float[] gaussian(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    /** base + h·dir. */
    public static float[] moved(float[] base, float[] dir, double h) {
        float[] out = base.clone();
        for (int i = 0; i < out.length; i++) out[i] += (float) (h * dir[i]);
        return out;
    }
}
