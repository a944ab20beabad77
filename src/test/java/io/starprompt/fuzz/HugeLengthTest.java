package io.starprompt.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.data.Images;
import io.starprompt.data.RgbImage;
import io.starprompt.model.clip.ClipConfig;
import io.starprompt.model.safetensors.SafetensorsException;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.util.Json;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Headers that claim enormous sizes are refused before anything of that size is allocated: the
 * heap bytes allocated while refusing are measured on this thread (the tests run with -Xmx2g, so
 * an attempt would also end in an OutOfMemoryError).
 */
class HugeLengthTest {
    /** What refusing a header may cost: the file itself, parsing, the exception. */
    private static final long SMALL = 4L << 20;

    @TempDir
    Path dir;

    private static <T extends Throwable> T refusedCheaply(Class<T> type, Executable parse, String... fragments) {
        long before = Fuzzer.allocatedBytes();
        T e = assertThrows(type, parse);
        long allocated = Fuzzer.allocatedBytes() - before;
        assertTrue(allocated < SMALL, "refusing allocated " + allocated + " bytes: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' missing from: " + e.getMessage());
        return e;
    }

    // ------------------------------------------------------------------ safetensors

    private Path safetensors(long declaredHeaderLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(declaredHeaderLength).put(h).array();
        return Files.write(dir.resolve("huge.safetensors"), b);
    }

    @Test
    void safetensorsHeaderLengthOf2To62() throws IOException {
        for (long claimed : new long[] {1L << 62, -1L, Long.MAX_VALUE, 1L << 31, 99_999_999L}) {
            Path f = safetensors(claimed, "{}", 0);
            refusedCheaply(SafetensorsException.class, () -> SafetensorsFile.open(f), f.toString(), "header length");
        }
    }

    @Test
    void safetensorsTensorClaimingExabytes() throws IOException {
        String shapes = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}";
        Path a = safetensors(shapes.length(), shapes, 8);
        refusedCheaply(SafetensorsException.class, () -> SafetensorsFile.open(a), "'w'");
        String offsets = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1073741824,1073741824],"
                + "\"data_offsets\":[0,4503599627370496]}}";
        Path b = safetensors(offsets.length(), offsets, 8);
        refusedCheaply(SafetensorsException.class, () -> SafetensorsFile.open(b), "'w'", "extend beyond");
        String overflow = "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}";
        Path c = safetensors(overflow.length(), overflow, 8);
        refusedCheaply(SafetensorsException.class, () -> SafetensorsFile.open(c), "more elements than fit in 64 bits");
    }

    // ------------------------------------------------------------------ images

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), format);
        return out.toByteArray();
    }

    private static BufferedImage small() {
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) img.setRGB(x, y, x * 30 << 16 | y * 30 << 8 | 77);
        return img;
    }

    /** A PNG whose IHDR claims width × height, with a correct chunk CRC so that only the size is wrong. */
    static byte[] pngClaiming(int width, int height) throws IOException {
        byte[] png = encode(small(), "png");
        ByteBuffer b = ByteBuffer.wrap(png); // big-endian, as PNG
        b.putInt(16, width).putInt(20, height);
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17); // "IHDR" and its 13 data bytes
        b.putInt(29, (int) crc.getValue());
        return png;
    }

    @Test
    void pngClaimingGigapixels() throws IOException {
        refusedCheaply(IllegalArgumentException.class, () -> Images.decode(pngClaiming(Integer.MAX_VALUE, Integer.MAX_VALUE),
                "huge.png"), "huge.png", "exceeds the limit of " + Images.MAX_PIXELS);
        refusedCheaply(IllegalArgumentException.class, () -> Images.decode(pngClaiming(65_535, 65_535), "huge.png"),
                "huge.png", "65535x65535");
        // Within the absolute limit, but far more than a file of ~100 bytes can hold.
        refusedCheaply(IllegalArgumentException.class, () -> Images.decode(pngClaiming(8000, 8000), "bomb.png"),
                "bomb.png", "decompression bomb");
    }

    @Test
    void gifBmpAndJpegClaimingHugeCanvases() throws IOException {
        byte[] gif = encode(small(), "gif");
        ByteBuffer g = ByteBuffer.wrap(gif).order(ByteOrder.LITTLE_ENDIAN);
        g.putShort(6, (short) 0xFFFF).putShort(8, (short) 0xFFFF); // logical screen
        for (int i = 13; i + 9 < gif.length; i++) {
            if (gif[i] == 0x2C) { // image descriptor: left, top, width, height
                g.putShort(i + 5, (short) 0xFFFF).putShort(i + 7, (short) 0xFFFF);
                break;
            }
        }
        refusedCheaply(IllegalArgumentException.class, () -> Images.decode(gif, "huge.gif"), "huge.gif", "pixels");

        byte[] bmp = encode(small(), "bmp");
        ByteBuffer.wrap(bmp).order(ByteOrder.LITTLE_ENDIAN).putInt(18, 1 << 20).putInt(22, 1 << 20);
        refusedCheaply(IllegalArgumentException.class, () -> Images.decode(bmp, "huge.bmp"), "huge.bmp");

        byte[] jpeg = encode(small(), "jpeg");
        int sof = -1;
        for (int i = 2; i + 1 < jpeg.length && sof < 0; i++) {
            if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == 0xC0) sof = i;
        }
        assertTrue(sof > 0, "no SOF0 marker");
        ByteBuffer.wrap(jpeg).putShort(sof + 5, (short) 0xFFFF).putShort(sof + 7, (short) 0xFFFF);
        refusedCheaply(IllegalArgumentException.class, () -> Images.decode(jpeg, "huge.jpg"), "huge.jpg", "pixels");
    }

    @Test
    void honestHighlyCompressedImagesStillDecode() throws IOException {
        // 3000 x 3000 one-bit pixels, all black: about as compressible as a real PNG gets.
        BufferedImage binary = new BufferedImage(3000, 3000, BufferedImage.TYPE_BYTE_BINARY);
        byte[] png = encode(binary, "png");
        assertTrue(9_000_000L / png.length < Images.MAX_PIXELS_PER_BYTE, png.length + " bytes");
        RgbImage img = Images.decode(png, "black.png");
        assertEquals(3000, img.width());
        assertEquals(0, img.get(2999, 2999, 2));
    }

    // ------------------------------------------------------------------ text formats

    @Test
    void vocabularyWithHugeIdsAllocatesNoTableForThem() throws IOException {
        Path vocab = Files.writeString(dir.resolve("vocab.json"),
                "{\"a\": 0, \"<|startoftext|>\": 2147483645, \"<|endoftext|>\": 2147483646}");
        Path merges = Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        long before = Fuzzer.allocatedBytes();
        ClipTokenizer t = ClipTokenizer.fromHuggingFace(vocab, merges);
        long allocated = Fuzzer.allocatedBytes() - before;
        assertTrue(allocated < SMALL, "loading allocated " + allocated + " bytes");
        assertEquals(Integer.MAX_VALUE, t.vocabSize());
        assertEquals(2147483646, t.eot());
        assertEquals("a<|endoftext|>", t.decode(new int[] {0, 2147483646}));
    }

    @Test
    void gzipBombIsCutAtTheLimit() throws IOException {
        Path bomb = dir.resolve("bpe_simple_vocab_16e6.txt.gz");
        byte[] spaces = new byte[1 << 20];
        java.util.Arrays.fill(spaces, (byte) ' ');
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(bomb))) {
            out.write("#version: 0.2\n".getBytes(StandardCharsets.US_ASCII));
            for (long written = 0; written <= ClipTokenizer.MAX_FILE_BYTES; written += spaces.length) out.write(spaces);
        }
        assertTrue(Files.size(bomb) < 1 << 20, "the bomb is small: " + Files.size(bomb));
        long before = Fuzzer.allocatedBytes();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipTokenizer.fromOpenAiBpe(bomb));
        long allocated = Fuzzer.allocatedBytes() - before;
        assertTrue(e.getMessage().startsWith(bomb.toString()) && e.getMessage().contains("larger than the limit"),
                e.getMessage());
        assertTrue(allocated < 3 * ClipTokenizer.MAX_FILE_BYTES, "allocated " + allocated);
    }

    @Test
    void oversizedTextFilesAreRefusedUnread() throws IOException {
        Path config = dir.resolve("config.json");
        try (var raf = new java.io.RandomAccessFile(config.toFile(), "rw")) {
            raf.setLength(ClipConfig.MAX_FILE_BYTES + 1); // sparse: nothing is written
        }
        refusedCheaply(IllegalArgumentException.class, () -> ClipConfig.read(config), config.toString(),
                "larger than the limit");
        Path vocab = dir.resolve("vocab.json");
        try (var raf = new java.io.RandomAccessFile(vocab.toFile(), "rw")) {
            raf.setLength(ClipTokenizer.MAX_FILE_BYTES + 1);
        }
        Path merges = Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        refusedCheaply(IllegalArgumentException.class, () -> ClipTokenizer.fromHuggingFace(vocab, merges),
                vocab.toString(), "larger than the limit");
    }

    @Test
    void jsonNestingAndNumbersBeyondTheLimits() {
        String deep = "[".repeat(1_000_000);
        refusedCheaply(IllegalArgumentException.class, () -> Json.parse(deep, "deep.json"), "deep.json",
                "deeper than " + Json.MAX_DEPTH);
        refusedCheaply(IllegalArgumentException.class, () -> Json.parse("[1e400]", "big.json"), "big.json",
                "beyond the range of a double");
        String manyDigits = "9".repeat(400);
        refusedCheaply(IllegalArgumentException.class, () -> Json.parse(manyDigits, "digits.json"), "digits.json",
                "beyond the range");
    }
}
