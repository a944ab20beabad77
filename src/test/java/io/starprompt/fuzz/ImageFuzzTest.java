package io.starprompt.fuzz;

import io.starprompt.data.Images;
import io.starprompt.data.RgbImage;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The image decoders on mutated PNG, JPEG, BMP and GIF files made here with ImageIO: an image
 * decodes to RGB or is refused with an IllegalArgumentException naming the source, never with
 * more memory than the file's size can justify.
 */
class ImageFuzzTest {
    private static final String SOURCE = "fuzz-image";

    /** A small picture with gradients and a pattern, in several pixel layouts. */
    private static BufferedImage picture(int type, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = x * 255 / (w - 1), g = y * 255 / (h - 1), b = ((x ^ y) & 3) * 85;
                img.setRGB(x, y, 0xFF000000 | r << 16 | g << 8 | b);
            }
        }
        return img;
    }

    private static BufferedImage palette(int w, int h) {
        byte[] r = {0, (byte) 255, 0, 40}, g = {0, 0, (byte) 255, 80}, b = {0, 0, 0, (byte) 160};
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 4, r, g, b));
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, (x + y) & 3);
        return img;
    }

    private static byte[] encode(BufferedImage img, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) throw new IllegalStateException("no " + format + " writer for " + img);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static byte[][] seeds() {
        List<byte[]> s = new ArrayList<>();
        s.add(encode(picture(BufferedImage.TYPE_3BYTE_BGR, 13, 9), "png"));
        s.add(encode(picture(BufferedImage.TYPE_INT_ARGB, 8, 8), "png"));
        s.add(encode(picture(BufferedImage.TYPE_BYTE_GRAY, 10, 7), "png"));
        s.add(encode(picture(BufferedImage.TYPE_USHORT_GRAY, 6, 5), "png"));
        s.add(encode(palette(9, 6), "png"));
        s.add(encode(picture(BufferedImage.TYPE_3BYTE_BGR, 16, 16), "jpeg"));
        s.add(encode(picture(BufferedImage.TYPE_BYTE_GRAY, 11, 8), "jpeg"));
        s.add(encode(picture(BufferedImage.TYPE_3BYTE_BGR, 7, 5), "bmp"));
        s.add(encode(palette(12, 4), "bmp"));
        s.add(encode(palette(10, 10), "gif"));
        s.add(encode(picture(BufferedImage.TYPE_3BYTE_BGR, 6, 6), "gif"));
        return s.toArray(new byte[0][]);
    }

    @Test
    void imageDecoders() {
        Fuzzer.target("images png/jpeg/bmp/gif")
                .seeds(seeds())
                .parse(bytes -> {
                    RgbImage img = Images.decode(bytes, SOURCE);
                    if (img.toChw().length != 3 * img.width() * img.height()) throw new AssertionError(img.toString());
                })
                .source(SOURCE)
                // A raster and its RGB and float copies, for as many pixels as the file may declare.
                .allocationBudget(n -> (64L << 20) + n * Images.MAX_PIXELS_PER_BYTE * 24)
                .run();
    }
}
