package io.starprompt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Normalisation constants, round trips and the stage-2 CLIP renormalisation. */
class NormalizeTest {
    private static float[] randomUnitChw(int plane, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[3 * plane];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextInt(256) / 255f;
        return x;
    }

    @Test
    void normalizeUsesTheChannelOfEachPlane() {
        float[] x = {0.5f, 0.5f, 0.25f, 0.25f, 1f, 1f};
        float[] y = Normalize.IMAGENET.normalize(x);
        assertEquals((0.5f - 0.485f) / 0.229f, y[1]);
        assertEquals((0.25f - 0.456f) / 0.224f, y[2]);
        assertEquals((1f - 0.406f) / 0.225f, y[5]);
        assertArrayEquals(x, Normalize.IDENTITY.normalize(x));
    }

    @Test
    void normalizeThenDenormalizeIsTheIdentity() {
        float[] x = randomUnitChw(16 * 16, 1);
        for (Normalize n : new Normalize[] {Normalize.CLIP, Normalize.IMAGENET, Normalize.IDENTITY}) {
            float[] back = n.denormalize(n.normalize(x));
            assertArrayEquals(x, back, 1e-6f, n.toString());
        }
    }

    @Test
    void renormalizeForClipEqualsClipNormalisationOfThePixels() {
        // x_vit = Normalize_ds(x); renormalising must give Normalize_clip(x) up to float rounding.
        float[] pixels = randomUnitChw(8 * 8, 2);
        float[] clip = Normalize.CLIP.normalize(pixels);
        for (Normalize ds : new Normalize[] {Normalize.IMAGENET, Normalize.IDENTITY, Normalize.CLIP}) {
            float[] vit = ds.normalize(pixels);
            float[] renorm = ImagePreprocessing.renormalizeForClip(vit, ds.mean(), ds.std());
            assertArrayEquals(clip, renorm, 2e-6f, ds.toString());
        }
    }

    @Test
    void renormalizeFollowsTheFormulaInFloat32() {
        // x_clip = ((x · std_ds + mean_ds) − mean_clip) / std_clip, evaluated in that order in float.
        float[] vit = {1.5f, -2f, 0.25f};
        float[] out = ImagePreprocessing.renormalizeForClip(vit, new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
        assertEquals(((1.5f * 0.229f + 0.485f) - 0.48145466f) / 0.26862954f, out[0]);
        assertEquals(((-2f * 0.224f + 0.456f) - 0.4578275f) / 0.26130258f, out[1]);
        assertEquals(((0.25f * 0.225f + 0.406f) - 0.40821073f) / 0.27577711f, out[2]);
        assertArrayEquals(new float[] {1.5f, -2f, 0.25f}, vit); // input untouched
    }

    @Test
    void batchesRenormaliseImageByImage() {
        float[] a = Normalize.IMAGENET.normalize(randomUnitChw(4, 3));
        float[] b = Normalize.IMAGENET.normalize(randomUnitChw(4, 4));
        float[] batch = new float[24];
        System.arraycopy(a, 0, batch, 0, 12);
        System.arraycopy(b, 0, batch, 12, 12);
        float[] out = ImagePreprocessing.renormalizeForClip(batch, 4, Normalize.IMAGENET);
        float[] first = ImagePreprocessing.renormalizeForClip(a, Normalize.IMAGENET.mean(), Normalize.IMAGENET.std());
        float[] second = ImagePreprocessing.renormalizeForClip(b, Normalize.IMAGENET.mean(), Normalize.IMAGENET.std());
        for (int i = 0; i < 12; i++) {
            assertEquals(first[i], out[i]);
            assertEquals(second[i], out[12 + i]);
        }
    }

    @Test
    void badShapesAndConstantsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Normalize.CLIP.normalize(new float[4]));
        assertThrows(IllegalArgumentException.class, () -> Normalize.CLIP.normalizeInPlace(new float[12], 5));
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {0, 0, 0}, new float[] {1, 0, 1}));
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {0, 0}, new float[] {1, 1}));
    }
}
