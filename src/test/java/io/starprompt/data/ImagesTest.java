package io.starprompt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decoding through javax.imageio, and clip_preprocess end to end. */
class ImagesTest {
    @TempDir
    Path dir;

    /** A smooth but non-trivial test picture. */
    static RgbImage picture(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                rgb[o] = (byte) (x * 255 / Math.max(1, width - 1));
                rgb[o + 1] = (byte) (y * 255 / Math.max(1, height - 1));
                rgb[o + 2] = (byte) ((x * 3 + y * 5) % 256);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    private Path write(BufferedImage img, String format, String name) throws IOException {
        Path file = dir.resolve(name);
        assertTrue(ImageIO.write(img, format, file.toFile()), "no " + format + " writer");
        return file;
    }

    private static void assertRejected(Path file, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Images.decode(file));
        assertTrue(e.getMessage().contains(file.getFileName().toString()), "file name missing from: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' missing from: " + e.getMessage());
    }

    @Test
    void pngRoundTripIsExact() throws IOException {
        RgbImage img = picture(37, 23);
        Path png = write(img.toBufferedImage(), "png", "picture.png");
        assertEquals(img, Images.decode(png));
        float[] chw = Images.readChw(png);
        assertEquals(3 * 37 * 23, chw.length);
        assertEquals(img.get(5, 7, 1) / 255f, chw[37 * 23 + 7 * 37 + 5]);
    }

    @Test
    void greyPngKeepsItsStoredValues() throws IOException {
        // TYPE_BYTE_GRAY is linear grey in Java; going through getRGB would gamma-convert it.
        BufferedImage grey = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
        int[] values = {0, 1, 64, 128, 200, 254, 255, 17};
        grey.getRaster().setPixels(0, 0, 4, 2, values);
        RgbImage img = Images.decode(write(grey, "png", "grey.png"));
        for (int i = 0; i < values.length; i++) {
            for (int c = 0; c < 3; c++) assertEquals(values[i], img.get(i % 4, i / 4, c));
        }
    }

    @Test
    void alphaIsDroppedAndPalettesExpanded() throws IOException {
        BufferedImage argb = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00FF8040); // fully transparent: the colour is kept, as PIL's convert("RGB") does
        argb.setRGB(1, 0, 0x80102030);
        RgbImage a = Images.decode(write(argb, "png", "alpha.png"));
        assertEquals(Arrays.toString(new int[] {255, 128, 64, 16, 32, 48}), Arrays.toString(ResizeTest.unsigned(a.toBytes())));

        byte[] r = {(byte) 250, 10};
        byte[] g = {5, (byte) 200};
        byte[] b = {7, 9};
        BufferedImage indexed = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(1, 2, r, g, b));
        indexed.getRaster().setPixels(0, 0, 2, 1, new int[] {1, 0});
        RgbImage p = Images.decode(write(indexed, "png", "palette.png"));
        assertEquals(Arrays.toString(new int[] {10, 200, 9, 250, 5, 7}), Arrays.toString(ResizeTest.unsigned(p.toBytes())));
    }

    @Test
    void jpegDecodesCloseToTheOriginal() throws IOException {
        RgbImage img = picture(64, 48);
        RgbImage back = Images.decode(write(img.toBufferedImage(), "jpg", "picture.jpg"));
        assertEquals(64, back.width());
        assertEquals(48, back.height());
        double err = 0;
        for (int y = 0; y < 48; y++) for (int x = 0; x < 64; x++) for (int c = 0; c < 3; c++) err += Math.abs(back.get(x, y, c) - img.get(x, y, c));
        assertTrue(err / (64 * 48 * 3) < 6, "mean abs error " + err / (64 * 48 * 3));
    }

    @Test
    void corruptFilesAreRejectedWithTheirName() throws IOException {
        Path garbage = Files.write(dir.resolve("corrupt.png"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        assertRejected(garbage, "not a recognised image format");

        byte[] png = Files.readAllBytes(write(picture(40, 40).toBufferedImage(), "png", "whole.png"));
        Path truncatedPng = Files.write(dir.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        assertRejected(truncatedPng, "corrupt");

        byte[] jpg = Files.readAllBytes(write(picture(64, 64).toBufferedImage(), "jpg", "whole.jpg"));
        Path truncatedJpg = Files.write(dir.resolve("truncated.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
        assertRejected(truncatedJpg, "corrupt");

        assertRejected(dir.resolve("missing.jpg"), "not found");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Images.decode(new byte[] {0, 1, 2}, "archive.tar:img_0001.jpg"));
        assertTrue(e.getMessage().contains("archive.tar:img_0001.jpg"), e.getMessage());
    }

    @Test
    void clipPreprocessOfAConstantImage() {
        // Any size → Resize(224) → CenterCrop(224): a constant stays constant, so every value is
        // (v/255 − mean_c) / std_c with CLIP's constants.
        BufferedImage img = RgbImage.filled(300, 180, 128, 64, 255).toBufferedImage();
        float[] x = ImagePreprocessing.clipPreprocess(img);
        assertEquals(3 * 224 * 224, x.length);
        float[] expected = {(128 / 255f - 0.48145466f) / 0.26862954f, (64 / 255f - 0.4578275f) / 0.26130258f,
            (255 / 255f - 0.40821073f) / 0.27577711f};
        for (int i = 0; i < x.length; i++) assertEquals(expected[i / (224 * 224)], x[i], "index " + i);
    }

    @Test
    void clipPreprocessIsResizeThenCentreCrop() {
        // 400×300 → shorter side 224 → 298×224 (int(224·400/300) = 298) → crop at left round(74/2) = 37.
        RgbImage img = picture(400, 300);
        RgbImage resized = Resize.resize(img, 224, 298);
        float[] expected = Normalize.CLIP.normalize(resized.crop(0, 37, 224, 224).toChw());
        float[] actual = ImagePreprocessing.clipPreprocess(img);
        assertArrayEquals(expected, actual);
    }

    @Test
    void probeReadsTheSizeFromTheHeaderAndNamesBadFiles() throws IOException {
        Path png = write(picture(37, 23).toBufferedImage(), "png", "probe.png");
        assertEquals(new Images.Size(37, 23), Images.probe(png));
        Path junk = dir.resolve("junk.png");
        Files.write(junk, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Images.probe(junk));
        assertTrue(e.getMessage().startsWith(junk.toString()), e.getMessage());
        Path missing = dir.resolve("missing.png");
        e = assertThrows(IllegalArgumentException.class, () -> Images.probe(missing));
        assertTrue(e.getMessage().startsWith(missing + ": image file not found"), e.getMessage());
    }

    @Test
    void inMemoryGreyAndPlanarImagesBecomeRgb() {
        byte[] grey = {9, 1, 2, 3, 4, 5, 6};
        RgbImage g = RgbImage.fromGrey(3, 2, grey, 1);
        for (int c = 0; c < 3; c++) assertEquals(6, g.get(2, 1, c));
        assertEquals(1, g.get(0, 0, 2));
        byte[] planes = {0, 10, 11, 20, 21, 30, 31}; // offset 1, 2x1 pixels: R plane, G plane, B plane
        RgbImage p = RgbImage.fromPlanes(2, 1, planes, 1);
        assertEquals(List.of(10, 20, 30, 11, 21, 31),
                List.of(p.get(0, 0, 0), p.get(0, 0, 1), p.get(0, 0, 2), p.get(1, 0, 0), p.get(1, 0, 1), p.get(1, 0, 2)));
        assertThrows(IllegalArgumentException.class, () -> RgbImage.fromPlanes(2, 2, planes, 1));
        BufferedImage awtGrey = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
        awtGrey.getRaster().setSample(1, 1, 0, 77);
        RgbImage fromAwt = ImageSource.of(awtGrey).load();
        for (int c = 0; c < 3; c++) assertEquals(77, fromAwt.get(1, 1, c));
    }
}
