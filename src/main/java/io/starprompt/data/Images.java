package io.starprompt.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decoding JPEG/PNG (and whatever else {@code javax.imageio} reads: BMP, GIF, WBMP) into
 * {@link RgbImage}, with the same channel handling as PIL's {@code Image.open(f).convert("RGB")}:
 * grey is replicated to three channels, alpha is dropped (not composited), palettes are expanded,
 * and embedded colour profiles are ignored (the stored RGB values are used as they are).
 *
 * <p>Known differences from PIL: JPEG pixels can differ by a few levels (the JDK's libjpeg 6b IDCT
 * and chroma upsampling vs libjpeg-turbo's); 16-bit samples are scaled to 8 bits where PIL's
 * {@code convert("RGB")} of a 16-bit grey image clips; CMYK JPEGs are not supported. A truncated
 * file is an error, as in PIL without {@code LOAD_TRUNCATED_IMAGES}.
 */
public final class Images {
    /**
     * Most pixels an image may have: PIL's decompression-bomb threshold
     * ({@code Image.MAX_IMAGE_PIXELS}, 89 478 485, about 9459 × 9459). Larger images are refused
     * before any pixel memory is allocated.
     */
    public static final long MAX_PIXELS = 89_478_485L;
    /**
     * Most pixels an image may declare per byte of its file (16384). Lossless compression of real
     * pictures stays far below it (deflate tops out near 8256 one-bit pixels per byte, GIF's LZW
     * near 2730, JPEG near 512), so a small file that claims a huge canvas is a decompression bomb
     * or corrupt, and is refused before its canvas is allocated.
     */
    public static final long MAX_PIXELS_PER_BYTE = 1 << 14;

    private Images() {}

    /**
     * Decodes an image file.
     *
     * @param file the file
     * @return the image
     * @throws IllegalArgumentException naming the file if it is missing, unreadable, not an image
     *     format ImageIO knows, corrupt or truncated, or larger than {@link #MAX_PIXELS} or
     *     {@link #MAX_PIXELS_PER_BYTE} allow
     */
    public static RgbImage decode(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": image file not found");
        try (InputStream in = Files.newInputStream(file)) {
            return decode(in, file.toString(), Files.size(file));
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read image: " + e.getMessage(), e);
        }
    }

    /**
     * Decodes encoded image bytes; {@code name} (a path, an archive member...) is used in errors.
     *
     * @param encoded the bytes
     * @param name where they came from
     * @return the image
     * @throws IllegalArgumentException naming {@code name} if the bytes are not a readable image,
     *     or declare more pixels than {@link #MAX_PIXELS} or {@link #MAX_PIXELS_PER_BYTE} allow
     */
    public static RgbImage decode(byte[] encoded, String name) {
        return decode(new ByteArrayInputStream(encoded), name, encoded.length);
    }

    /**
     * Decodes a file straight to torchvision's {@code ToTensor} layout: float CHW in [0, 1].
     *
     * @param file the file
     * @return the tensor values
     */
    public static float[] readChw(Path file) {
        return decode(file).toChw();
    }

    /** Width and height read from an image header. */
    public record Size(int width, int height) {}

    /**
     * Reads the size from an image file's header without decoding the pixels (a fast check that the
     * file is an image ImageIO can open; a file truncated after its header still passes).
     *
     * @param file the file
     * @return its width and height
     * @throws IllegalArgumentException naming the file if it is missing, unreadable, not an image
     *     format ImageIO knows, or its header is corrupt or gives a non-positive size
     */
    public static Size probe(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": image file not found");
        if (!Files.isReadable(file)) throw new IllegalArgumentException(file + ": image file is not readable");
        String name = file.toString();
        ImageInputStream in;
        try {
            // Random access on the file: the reader reads the header bytes and nothing more.
            in = new FileImageInputStream(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(name + ": cannot read image: " + e.getMessage(), e);
        }
        return withReader(in, name, (reader, warnings) -> {
            int w = reader.getWidth(0);
            int h = reader.getHeight(0);
            if (w <= 0 || h <= 0) throw new IllegalArgumentException(name + ": image header gives the size " + w + "x" + h);
            return new Size(w, h);
        });
    }

    private static RgbImage decode(InputStream raw, String name, long encodedBytes) {
        // A memory cache, not ImageIO's default temp-file cache: no disk traffic, no global setting.
        return withReader(new MemoryCacheImageInputStream(raw), name, (reader, warnings) -> {
            checkCanvas(name, reader.getFormatName(), reader.getWidth(0), reader.getHeight(0), encodedBytes);
            BufferedImage img = reader.read(0);
            // ImageIO only warns about a truncated JPEG and fills the rest grey; PIL refuses it.
            if (!warnings.isEmpty()) {
                throw new IllegalArgumentException(name + ": corrupt " + reader.getFormatName() + " image: " + warnings.get(0));
            }
            return fromBufferedImage(img);
        });
    }

    /** Work done with the reader ImageIO picked for a stream; warnings collects the reader's warnings. */
    private interface ReaderJob<T> {
        T run(ImageReader reader, List<String> warnings) throws IOException;
    }

    /**
     * Runs a job with the first ImageIO reader for the stream, then closes the stream; every failure
     * becomes an IllegalArgumentException whose message starts with {@code name}.
     */
    private static <T> T withReader(ImageInputStream in, String name, ReaderJob<T> job) {
        try (in) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IllegalArgumentException(name + ": not a recognised image format (corrupt file?)");
            ImageReader reader = readers.next();
            List<String> warnings = new ArrayList<>();
            try {
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                reader.setInput(in, true, true);
                return job.run(reader, warnings);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage() != null && iae.getMessage().startsWith(name)) throw iae;
            String why = e instanceof IOException && e.getMessage() != null ? e.getMessage()
                    : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            throw new IllegalArgumentException(name + ": corrupt or unsupported image (" + why + ")", e);
        }
    }

    /** Refuses a canvas too large for any image, or for a file of this size, before it is allocated. */
    private static void checkCanvas(String name, String format, int width, int height, long encodedBytes) {
        long pixels = (long) width * height;
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException(name + ": " + format + " header gives an empty image " + width + "x" + height);
        }
        if (pixels > MAX_PIXELS) {
            throw new IllegalArgumentException(name + ": " + format + " image of " + width + "x" + height + " = " + pixels
                    + " pixels exceeds the limit of " + MAX_PIXELS + " pixels (decompression bomb or corrupt header)");
        }
        if (pixels > MAX_PIXELS_PER_BYTE * Math.max(encodedBytes, 1)) {
            throw new IllegalArgumentException(name + ": " + format + " header declares " + width + "x" + height + " = "
                    + pixels + " pixels, more than a " + encodedBytes + "-byte file can encode (at most "
                    + MAX_PIXELS_PER_BYTE + " pixels per byte): decompression bomb or corrupt header");
        }
    }

    /**
     * Converts any {@link BufferedImage} to 8-bit RGB like PIL's {@code convert("RGB")}: stored
     * samples are used directly for grey and RGB component images (no colour-space or gamma
     * conversion, which Java would otherwise apply to linear-grey and ICC images); palette and
     * packed images go through {@link BufferedImage#getRGB}. Alpha is dropped.
     *
     * @param img the image
     * @return its RGB bytes
     */
    public static RgbImage fromBufferedImage(BufferedImage img) {
        ColorModel cm = img.getColorModel();
        if (isPlainComponent(cm, ColorSpace.TYPE_GRAY, 1)) return fromGrey(img);
        if (isPlainComponent(cm, ColorSpace.TYPE_RGB, 3)) return fromRgbSamples(img);
        return fromPackedRgb(img);
    }

    private static boolean isPlainComponent(ColorModel cm, int colorSpaceType, int colours) {
        return cm instanceof ComponentColorModel && !(cm instanceof IndexColorModel)
                && cm.getColorSpace().getType() == colorSpaceType && cm.getNumColorComponents() == colours
                && !cm.isAlphaPremultiplied();
    }

    private static RgbImage fromGrey(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int shift = Math.max(0, img.getColorModel().getComponentSize(0) - 8);
        Raster raster = img.getRaster();
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                byte v = (byte) (row[x] >>> shift);
                int o = (y * w + x) * 3;
                out[o] = v;
                out[o + 1] = v;
                out[o + 2] = v;
            }
        }
        return new RgbImage(w, h, out);
    }

    private static RgbImage fromRgbSamples(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster raster = img.getRaster();
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w];
        for (int c = 0; c < 3; c++) {
            // Raster bands follow the colour model's component order (R, G, B), whatever the byte layout.
            int shift = Math.max(0, img.getColorModel().getComponentSize(c) - 8);
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, c, row);
                for (int x = 0; x < w; x++) out[(y * w + x) * 3 + c] = (byte) (row[x] >>> shift);
            }
        }
        return new RgbImage(w, h, out);
    }

    private static RgbImage fromPackedRgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                out[o] = (byte) (row[x] >> 16);
                out[o + 1] = (byte) (row[x] >> 8);
                out[o + 2] = (byte) row[x];
            }
        }
        return new RgbImage(w, h, out);
    }
}
