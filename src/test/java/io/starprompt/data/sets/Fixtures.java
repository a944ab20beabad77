package io.starprompt.data.sets;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.util.Gzip;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.function.Executable;

/**
 * Small datasets written on the fly: tar archives, gzip, CIFAR records, IDX arrays (also the
 * seeds of the dataset fuzz targets).
 */
public final class Fixtures {
    private Fixtures() {}

    /** "name_00", "name_01", ... */
    public static List<String> names(String stem, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(String.format("%s_%02d", stem, i));
        return out;
    }

    /** The text of a names file. */
    public static byte[] lines(List<String> names) {
        return (String.join("\n", names) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A pixel value that depends on the record, the plane and the position. */
    public static int cifarPixel(int record, int plane, int index) {
        return (record * 31 + plane * 85 + index * 7) & 0xFF;
    }

    /** CIFAR-100 binary records: coarse label, fine label, then the R, G and B planes of 32×32. */
    public static byte[] cifarRecords(int... fineLabels) {
        ByteBuffer b = ByteBuffer.allocate(fineLabels.length * Cifar100.RECORD_BYTES);
        for (int r = 0; r < fineLabels.length; r++) {
            b.put((byte) (fineLabels[r] / 5)).put((byte) fineLabels[r]);
            for (int plane = 0; plane < 3; plane++) {
                for (int i = 0; i < 32 * 32; i++) b.put((byte) cifarPixel(r, plane, i));
            }
        }
        return b.array();
    }

    /** An IDX array of unsigned bytes with the given dimensions. */
    public static byte[] idx(byte[] data, int... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(0x0800 | dims.length);
        for (int d : dims) b.putInt(d);
        return b.put(data).array();
    }

    /** The bytes gzipped. */
    public static byte[] gzip(byte[] data) {
        return Gzip.compress(data);
    }

    /** A ustar archive of regular files, in map order. */
    public static byte[] tar(Map<String, byte[]> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            out.writeBytes(tarHeader(f.getKey(), f.getValue().length));
            out.writeBytes(f.getValue());
            out.writeBytes(new byte[(512 - f.getValue().length % 512) % 512]);
        }
        out.writeBytes(new byte[1024]);
        return out.toByteArray();
    }

    private static byte[] tarHeader(String name, long size) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", size));
        put(h, 136, "00000000000");
        h[156] = '0';
        put(h, 257, "ustar");
        put(h, 263, "00");
        Arrays.fill(h, 148, 156, (byte) ' ');
        int sum = 0;
        for (byte b : h) sum += b & 0xFF;
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        return h;
    }

    private static void put(byte[] h, int offset, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, offset, b.length);
    }

    static Path write(Path file, byte[] data) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            return Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The first {@code n} bytes of a file, written back. */
    static void truncate(Path file, int n) throws IOException {
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), n));
    }

    /** Asserts an IllegalArgumentException whose message names the file (and holds the fragments). */
    static IllegalArgumentException assertNames(Object file, Executable run, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, run);
        assertTrue(e.getMessage().contains(file.toString()), "'" + file + "' missing from: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' missing from: " + e.getMessage());
        return e;
    }
}
