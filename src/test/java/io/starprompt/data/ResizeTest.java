package io.starprompt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Pillow-exact bicubic resizing. */
class ResizeTest {
    /** A grey horizontal ramp 0, 10, ..., 70 (one row). */
    private static RgbImage ramp() {
        byte[] rgb = new byte[8 * 3];
        for (int x = 0; x < 8; x++) for (int c = 0; c < 3; c++) rgb[x * 3 + c] = (byte) (10 * x);
        return new RgbImage(8, 1, rgb);
    }

    /** The 7×5 test pattern v(x, y, c) = (37x + 91y + 53c) mod 256. */
    private static RgbImage pattern() {
        byte[] rgb = new byte[7 * 5 * 3];
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 7; x++) {
                for (int c = 0; c < 3; c++) rgb[(y * 7 + x) * 3 + c] = (byte) ((x * 37 + y * 91 + c * 53) % 256);
            }
        }
        return new RgbImage(7, 5, rgb);
    }

    @Test
    void constantImageStaysConstant() {
        RgbImage grey = RgbImage.filled(37, 23, 200, 17, 255);
        int[][] sizes = {{7, 10}, {23, 37}, {60, 50}, {1, 1}, {224, 224}, {5, 90}};
        for (int[] hw : sizes) {
            RgbImage out = Resize.resize(grey, hw[0], hw[1]);
            assertEquals(RgbImage.filled(hw[1], hw[0], 200, 17, 255), out, hw[0] + "x" + hw[1]);
        }
    }

    @Test
    void downscaleWeightsOfARampByHand() {
        // 8 → 4 pixels: scale 2, so the kernel is stretched to support 2·2 = 4 and evaluated at
        // (x − centre + 0.5) / 2. Output 0 has centre (0 + 0.5)·2 = 1; it reads x = 0..4 (from
        // int(1 − 4 + 0.5) clamped to 0, to int(1 + 4 + 0.5) = 5), at distances
        // −0.25, 0.25, 0.75, 1.25, 1.75. Keys' kernel (a = −0.5):
        //   |t| < 1: 1.5|t|³ − 2.5|t|² + 1      → k(0.25) = 0.8671875, k(0.75) = 0.2265625
        //   |t| < 2: −0.5(|t|³ − 5|t|² + 8|t| − 4) → k(1.25) = −0.0703125, k(1.75) = −0.0234375
        // Their sum is 1.8671875 (the left taps fell off the edge), so each is divided by it.
        Resize.Coefficients k = Resize.Coefficients.compute(8, 4);
        assertEquals(0, k.start[0]);
        assertEquals(5, k.count[0]);
        double[] raw = {0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375};
        for (int t = 0; t < 5; t++) assertEquals(raw[t] / 1.8671875, k.weights[t], 1e-15);
        // Output 1 (centre 3) reads x = 0..6: distances −1.25 … 1.75, sum 2.0234375.
        assertEquals(0, k.start[1]);
        assertEquals(7, k.count[1]);
        assertEquals(-0.0703125 / 2.0234375, k.weights[k.taps], 1e-15);
    }

    @Test
    void downscaleOfARampByHand() {
        // With the weights above, pixel 0 = (0·0.8671875 + 10·0.8671875 + 20·0.2265625
        //   − 30·0.0703125 − 40·0.0234375) / 1.8671875 = 10.15625 / 1.8671875 = 5.44 → 5;
        // pixel 1 = 49.765625 / 2.0234375 = 24.59 → 25; by symmetry pixel 2 = 45.41 → 45 and
        // pixel 3 = 64.56 → 65. The ramp survives except near the borders, where the truncated
        // kernel pulls values inwards (ideal centres would be 5, 25, 45, 65 exactly).
        RgbImage out = Resize.resize(ramp(), 1, 4);
        for (int c = 0; c < 3; c++) {
            assertArrayEquals(new int[] {5, 25, 45, 65}, new int[] {out.get(0, 0, c), out.get(1, 0, c), out.get(2, 0, c), out.get(3, 0, c)});
        }
    }

    @Test
    void matchesPillowBitForBit() {
        // Expected bytes from Pillow 9.4.0: Image.fromarray(pattern).resize((w, h), Image.BICUBIC).
        int[] shrinkWidthGrowHeight = {42, 103, 148, 136, 179, 179, 170, 130, 95, 146, 154, 128, 135, 137, 84, 84, 111,
            182, 89, 92, 112, 85, 145, 161, 185, 178, 122, 119, 178, 193, 146, 114, 90, 76, 105, 124};
        assertArrayEquals(shrinkWidthGrowHeight, unsigned(Resize.resize(pattern(), 4, 3).toBytes()));
        int[] grow = {0, 43, 96, 6, 59, 110, 33, 86, 140, 57, 110, 179, 80, 132, 208, 104, 157, 230, 126, 195, 255, 155,
            233, 215, 194, 255, 40, 224, 113, 36, 238, 0, 68, 21, 71, 134, 34, 92, 154, 62, 124, 172, 93, 148, 139, 118,
            174, 139, 142, 195, 168, 171, 166, 202, 171, 162, 173, 138, 193, 64, 156, 105, 71, 176, 31, 97, 77, 129, 194,
            92, 151, 224, 121, 185, 224, 153, 208, 70, 179, 242, 19, 202, 255, 61, 244, 114, 86, 193, 38, 103, 39, 79, 113,
            39, 94, 138, 69, 101, 155, 142, 204, 124, 165, 160, 149, 179, 110, 158, 113, 135, 65, 102, 168, 39, 132, 185,
            75, 168, 100, 107, 142, 57, 141, 49, 91, 177, 58, 138, 205, 83, 170, 220, 179, 250, 29, 209, 142, 45, 208, 10,
            72, 48, 36, 96, 0, 66, 119, 37, 90, 143, 61, 114, 167, 84, 137, 190, 108, 161, 214, 135, 188, 241, 151, 204,
            255, 84, 146, 66, 107, 101, 80, 120, 51, 110, 55, 75, 157, 42, 108, 196, 74, 144, 211, 108, 178, 126, 142,
            211, 83, 175, 231, 118, 204, 160, 146, 219, 97, 161, 14, 66, 131, 29, 88, 148, 57, 122, 173, 90, 147, 183,
            116, 161, 210, 139, 172, 225, 150, 195, 84, 165, 226, 7, 190, 246, 48, 217, 125, 76, 233, 21, 92, 74, 127,
            189, 90, 147, 215, 118, 180, 222, 148, 216, 113, 181, 164, 84, 197, 65, 118, 97, 81, 89, 51, 114, 80, 82, 137,
            109, 110, 116, 136, 126, 94, 152, 112, 165, 218, 128, 181, 250, 155, 209, 246, 179, 252, 71, 214, 163, 11,
            226, 3, 56, 65, 15, 93, 0, 49, 125, 19, 73, 147, 48, 113, 174, 64, 139, 190};
        assertArrayEquals(grow, unsigned(Resize.resize(pattern(), 9, 11).toBytes()));
    }

    @Test
    void sameSizeIsUnchanged() {
        assertEquals(pattern(), Resize.resize(pattern(), 5, 7));
    }

    @Test
    void shorterSideRuleTruncatesTheLongSide() {
        // torchvision: long = int(224 · long / short).
        assertArrayEquals(new int[] {224, 298}, Resize.shorterSideSize(375, 500, 224)); // 298.67 → 298
        assertArrayEquals(new int[] {298, 224}, Resize.shorterSideSize(500, 375, 224));
        assertArrayEquals(new int[] {224, 224}, Resize.shorterSideSize(32, 32, 224));
        RgbImage out = Resize.shorterSide(4).apply(pattern(), null);
        assertEquals(5, out.width()); // int(4 · 7 / 5) = 5
        assertEquals(4, out.height());
        RgbImage exact = Resize.exact(3, 9).apply(pattern(), null);
        assertEquals(9, exact.width());
        assertEquals(3, exact.height());
    }

    static int[] unsigned(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xFF;
        return out;
    }
}
