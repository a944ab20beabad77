package io.starprompt.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Crops and flips. */
class GeometryTest {
    /** Every pixel encodes its own coordinates: R = x, G = y, B = x + y (mod 256). */
    static RgbImage coordinates(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                rgb[o] = (byte) x;
                rgb[o + 1] = (byte) y;
                rgb[o + 2] = (byte) (x + y);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    @Test
    void centreCropTakesTheMiddle() {
        // 10×8 → 4×4: left = round((10 − 4)/2) = 3, top = round((8 − 4)/2) = 2.
        RgbImage out = CenterCrop.of(4).apply(coordinates(10, 8), null);
        assertEquals(4, out.width());
        assertEquals(4, out.height());
        assertEquals(3, out.get(0, 0, 0));
        assertEquals(2, out.get(0, 0, 1));
        assertEquals(6, out.get(3, 3, 0));
        assertEquals(5, out.get(3, 3, 1));
    }

    @Test
    void centreCropRoundsHalfToEvenLikePython() {
        // (225 − 224)/2 = 0.5 → 0;  (227 − 224)/2 = 1.5 → 2;  (229 − 224)/2 = 2.5 → 2.
        assertEquals(0, CenterCrop.offset(225, 224));
        assertEquals(2, CenterCrop.offset(227, 224));
        assertEquals(2, CenterCrop.offset(229, 224));
        assertEquals(37, CenterCrop.offset(298, 224)); // 37 exactly: the clip_preprocess case for 4:3 images
    }

    @Test
    void centreCropPadsWithBlackWhenTheImageIsSmaller() {
        // Width 3 → crop 6: pad (6 − 3)//2 = 1 on the left, 2 on the right; height 8 → 4 crops at 2.
        RgbImage out = new CenterCrop(4, 6).apply(coordinates(3, 8), null);
        assertEquals(0, out.get(0, 0, 2)); // padding
        assertEquals(0, out.get(1, 0, 0)); // source x = 0
        assertEquals(2, out.get(1, 0, 1)); // source y = 2
        assertEquals(2, out.get(3, 0, 0)); // source x = 2
        assertEquals(0, out.get(4, 1, 2)); // padding
        assertEquals(0, out.get(5, 3, 1)); // padding
    }

    @Test
    void flipMirrorsAndTwiceIsIdentity() {
        RgbImage img = coordinates(5, 3);
        RgbImage once = HorizontalFlip.flip(img);
        assertEquals(4, once.get(0, 1, 0));
        assertEquals(1, once.get(0, 1, 1));
        assertEquals(0, once.get(4, 2, 0));
        assertNotEquals(img, once);
        assertEquals(img, HorizontalFlip.flip(once));
    }

    @Test
    void randomFlipFollowsItsProbability() {
        RgbImage img = coordinates(5, 3);
        SplittableRandom rng = new SplittableRandom(1);
        int flipped = 0;
        for (int i = 0; i < 2000; i++) if (!HorizontalFlip.random().apply(img, rng).equals(img)) flipped++;
        assertTrue(flipped > 900 && flipped < 1100, "flipped " + flipped + " of 2000");
        assertSame(img, new HorizontalFlip(0).apply(img, rng));
        assertEquals(HorizontalFlip.flip(img), new HorizontalFlip(1).apply(img, rng));
    }

    @Test
    void randomResizedCropIsReproducibleAndInBounds() {
        RandomResizedCrop rrc = RandomResizedCrop.of(224);
        int[][] shapes = {{32, 32}, {375, 500}, {500, 375}, {10, 1000}, {1, 1}, {224, 224}};
        Set<RandomResizedCrop.Box> distinct = new HashSet<>();
        for (int[] hw : shapes) {
            for (long seed = 0; seed < 200; seed++) {
                RandomResizedCrop.Box a = rrc.sampleBox(hw[0], hw[1], new SplittableRandom(seed));
                RandomResizedCrop.Box b = rrc.sampleBox(hw[0], hw[1], new SplittableRandom(seed));
                assertEquals(a, b);
                assertTrue(a.top() >= 0 && a.left() >= 0 && a.height() > 0 && a.width() > 0, a.toString());
                assertTrue(a.top() + a.height() <= hw[0] && a.left() + a.width() <= hw[1], a + " outside " + hw[0] + "x" + hw[1]);
                double fraction = (double) a.height() * a.width() / ((double) hw[0] * hw[1]);
                if (hw[0] >= 32 && hw[1] >= 32 && hw[0] == hw[1]) assertTrue(fraction > 0.05 && fraction <= 1.0, a.toString());
                if (hw[0] == 375) distinct.add(a);
            }
        }
        assertTrue(distinct.size() > 150, "boxes should vary with the seed: " + distinct.size());
        RgbImage out = rrc.apply(coordinates(50, 40), new SplittableRandom(9));
        assertEquals(224, out.width());
        assertEquals(224, out.height());
        assertEquals(out, rrc.apply(coordinates(50, 40), new SplittableRandom(9)));
    }

    @Test
    void randomResizedCropFallsBackToACentredBox() {
        // Area fraction ≥ 0.99 with aspect ≤ 4/3 never fits a 10-high, 100-wide image, so after 10
        // tries: in-ratio 10 > 4/3 → h = 10, w = round(10 · 4/3) = 13, left = (100 − 13)//2 = 43.
        RandomResizedCrop narrow = new RandomResizedCrop(8, 0.99, 1.0, 3.0 / 4.0, 4.0 / 3.0);
        assertEquals(new RandomResizedCrop.Box(0, 43, 10, 13), narrow.sampleBox(10, 100, new SplittableRandom(3)));
        // Tall image: in-ratio 0.1 < 3/4 → w = 10, h = round(10 / 0.75) = 13, top = 43.
        assertEquals(new RandomResizedCrop.Box(43, 0, 13, 10), narrow.sampleBox(100, 10, new SplittableRandom(3)));
    }

    @Test
    void randomCropStaysInside() {
        RgbImage img = coordinates(30, 20);
        for (long seed = 0; seed < 100; seed++) {
            RgbImage out = RandomCrop.of(16).apply(img, new SplittableRandom(seed));
            int left = out.get(0, 0, 0);
            int top = out.get(0, 0, 1);
            assertTrue(left >= 0 && left <= 14 && top >= 0 && top <= 4, left + "," + top);
            assertEquals(left + 15, out.get(15, 15, 0));
        }
        RgbImage square = coordinates(20, 20);
        assertSame(square, RandomCrop.of(20).apply(square, new SplittableRandom(0))); // exact fit: no draw, no copy
        assertThrows(IllegalArgumentException.class, () -> RandomCrop.of(25).apply(img, new SplittableRandom(0)));
    }
}
