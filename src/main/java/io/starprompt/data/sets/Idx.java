package io.starprompt.data.sets;

import io.starprompt.data.Images;
import io.starprompt.data.RgbImage;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The IDX files of the MNIST family (MNIST, Fashion-MNIST, KMNIST...) in one folder:
 * {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte}
 * and {@code t10k-labels-idx1-ubyte}, each optionally gzipped ({@code .gz}) and with '.' instead of
 * the '-' before {@code idx} accepted; the uncompressed file wins when both exist. Grey images
 * become three equal channels. The classes are "0", "1", ... up to the largest label (at least
 * ten); other names come from a names file ({@link DatasetOptions#classNames()}).
 *
 * <p>Every header is checked before anything is allocated: the magic number (unsigned bytes, 3 or
 * 1 dimensions), positive dimensions, images of at most {@link Images#MAX_PIXELS} pixels, and the size the dimensions imply against the file size (for
 * a gzipped file against the size recorded in its gzip trailer); the data is then read in chunks
 * and must end exactly where the header says.
 */
public final class Idx {
    private static final Pattern NAME = Pattern.compile("(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\\.gz)?");
    private static final int UBYTE = 0x08;

    /** An IDX array of unsigned bytes: its dimensions and the values. */
    private record Array(int[] dims, byte[] data, String where) {}

    private Idx() {}

    /**
     * Reads the four files of a folder.
     *
     * @param dir the folder of the four IDX files
     * @return the dataset
     * @throws IllegalArgumentException naming the file if one is missing, has a bad magic number or
     *     dimensions, is truncated or too long, or the image and label counts differ
     */
    public static Dataset load(Path dir) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("IDX: " + dir + " is not a directory");
        List<Path> files = listFiles(dir);
        Array trainImages = read(find(dir, files, "train", "images"), 3);
        Array trainLabels = read(find(dir, files, "train", "labels"), 1);
        Array testImages = read(find(dir, files, "t10k", "images"), 3);
        Array testLabels = read(find(dir, files, "t10k", "labels"), 1);
        int classes = Math.max(10, Math.max(maxLabel(trainLabels), maxLabel(testLabels)) + 1);
        List<String> keys = new ArrayList<>();
        for (int c = 0; c < classes; c++) keys.add(Integer.toString(c));
        List<Sample> train = samples(trainImages, trainLabels);
        List<Sample> test = samples(testImages, testLabels);
        return new Dataset("IDX (MNIST family)", dir, keys, keys, train, test, null);
    }

    /** Whether a folder holds a training image file of this format. */
    static boolean isFolder(Path dir) {
        return listFiles(dir).stream().anyMatch(p -> role(p, "train", "images"));
    }

    private static List<Path> listFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException("IDX: cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean role(Path file, String split, String kind) {
        Matcher m = NAME.matcher(file.getFileName().toString().toLowerCase(Locale.ROOT));
        return m.matches() && m.group(1).equals(split) && m.group(2).equals(kind);
    }

    private static Path find(Path dir, List<Path> files, String split, String kind) {
        List<Path> found = files.stream().filter(p -> role(p, split, kind)).toList();
        if (found.isEmpty()) {
            String dims = kind.equals("images") ? "3" : "1";
            throw new IllegalArgumentException("IDX: " + dir + " has no " + split + "-" + kind + "-idx" + dims
                    + "-ubyte[.gz]");
        }
        return found.stream().filter(p -> !isGzip(p)).findFirst().orElse(found.get(0));
    }

    private static boolean isGzip(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gz");
    }

    // ------------------------------------------------------------------ reading

    private static Array read(Path file, int expectedDims) {
        String where = file.toString();
        boolean gz = isGzip(file);
        try (DataInputStream in = new DataInputStream(open(file, gz))) {
            int[] dims = header(in, expectedDims, where);
            long payload = payloadBytes(dims, where);
            if (dims.length == 3 && (long) dims[1] * dims[2] > Images.MAX_PIXELS) {
                throw new IllegalArgumentException(where + ": images of " + dims[1] + "x" + dims[2] + " pixels exceed the "
                        + Images.MAX_PIXELS + "-pixel limit of an image");
            }
            long total = 4L + 4L * dims.length + payload;
            checkSize(file, gz, total);
            byte[] data = in.readNBytes((int) payload);
            if (data.length < payload) {
                throw new IllegalArgumentException(where + ": truncated: " + data.length + " of " + payload + " data bytes");
            }
            if (in.read() >= 0) throw new IllegalArgumentException(where + ": data continues after the " + payload + " bytes"
                    + " the header announces");
            return new Array(dims, data, where);
        } catch (EOFException e) {
            throw new IllegalArgumentException(where + ": truncated IDX file", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(where + ": cannot read the IDX file: " + e.getMessage(), e);
        }
    }

    private static InputStream open(Path file, boolean gz) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        return gz ? new GZIPInputStream(raw, 1 << 16) : raw;
    }

    /** The magic number (0, 0, type, dimensions) and the dimensions, all checked. */
    private static int[] header(DataInputStream in, int expectedDims, String where) throws IOException {
        int magic = in.readInt();
        int expected = UBYTE << 8 | expectedDims;
        if (magic != expected) {
            throw new IllegalArgumentException(where + ": bad IDX magic number " + String.format("0x%08x", magic)
                    + ", expected " + String.format("0x%08x", expected) + " (unsigned bytes, " + expectedDims + " dimensions)");
        }
        int[] dims = new int[expectedDims];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = in.readInt();
            if (dims[i] <= 0) throw new IllegalArgumentException(where + ": dimension " + i + " is " + dims[i]);
        }
        return dims;
    }

    private static long payloadBytes(int[] dims, String where) {
        long n = 1;
        for (int d : dims) {
            n *= d; // both factors are below 2^31: no overflow
            if (n > Integer.MAX_VALUE - 64) {
                throw new IllegalArgumentException(where + ": the header announces more data bytes than one array holds ("
                        + Arrays.toString(dims) + ")");
            }
        }
        return n;
    }

    /**
     * The size the header implies must be the file's (uncompressed) size. For gzip the trailer holds
     * the uncompressed size modulo 2^32; the payload is below 2^31, so it must match exactly.
     */
    private static void checkSize(Path file, boolean gz, long expected) throws IOException {
        long actual = gz ? gzipSize(file) : Files.size(file);
        if (actual != expected) {
            throw new IllegalArgumentException(file + ": the header announces " + expected + " bytes but the file "
                    + (gz ? "unpacks to " : "has ") + actual + (actual < expected ? " (truncated)" : ""));
        }
    }

    private static long gzipSize(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            if (raf.length() < 18) throw new IllegalArgumentException(file + ": too short for a gzip file");
            raf.seek(raf.length() - 4);
            byte[] b = new byte[4];
            raf.readFully(b);
            return (b[0] & 0xFFL) | (b[1] & 0xFFL) << 8 | (b[2] & 0xFFL) << 16 | (b[3] & 0xFFL) << 24;
        }
    }

    // ------------------------------------------------------------------ samples

    private static int maxLabel(Array labels) {
        int max = 0;
        for (byte b : labels.data()) max = Math.max(max, b & 0xFF);
        return max;
    }

    private static List<Sample> samples(Array images, Array labels) {
        int n = images.dims()[0];
        if (labels.dims()[0] != n) {
            throw new IllegalArgumentException(labels.where() + ": " + labels.dims()[0] + " labels for the " + n
                    + " images of " + images.where());
        }
        int rows = images.dims()[1];
        int cols = images.dims()[2];
        byte[] pixels = images.data();
        List<Sample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int offset = i * rows * cols;
            out.add(Sample.inMemory(() -> RgbImage.fromGrey(cols, rows, pixels, offset), labels.data()[i] & 0xFF));
        }
        return out;
    }
}
