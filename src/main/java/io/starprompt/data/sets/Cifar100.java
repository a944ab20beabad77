package io.starprompt.data.sets;

import io.starprompt.data.RgbImage;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * CIFAR-100 in its official binary distribution: {@code cifar-100-binary.tar.gz} itself, or the
 * unpacked folder holding {@code train.bin}, {@code test.bin} and {@code fine_label_names.txt}
 * (directly or under {@code meta/}; a folder that holds {@code cifar-100-binary/} is accepted too).
 *
 * <p>A record is 1 coarse label byte, 1 fine label byte and 3072 pixel bytes: the R, G and B
 * planes of a 32×32 image, row-major. Labels are the fine labels, whose order is the order of the
 * fine label names (torchvision's CIFAR-100 order); class names are those names with '_' replaced
 * by ' '. The raw records stay in memory (about 150 MB for the 50 000 training images); images are
 * converted one batch at a time when needed.
 */
public final class Cifar100 {
    /** Image side. */
    public static final int SIDE = 32;
    /** Bytes per record: two labels and three planes. */
    public static final int RECORD_BYTES = 2 + 3 * SIDE * SIDE;
    /** The unpacked folder inside the official archive. */
    public static final String ARCHIVE_FOLDER = "cifar-100-binary";

    static final String TRAIN = "train.bin";
    static final String TEST = "test.bin";
    static final String NAMES = "fine_label_names.txt";

    /** The bytes of one part of the distribution and the name to use in messages. */
    private record Part(byte[] data, String where) {}

    private record Parts(Part train, Part test, Part names) {}

    private Cifar100() {}

    /**
     * Reads the archive or folder.
     *
     * @param path the .tar.gz archive or the extracted folder
     * @return the dataset
     * @throws IllegalArgumentException naming the file if a part is missing, truncated (not a whole
     *     number of records), corrupt, or a record's fine label is outside the class names
     */
    public static Dataset load(Path path) {
        return load(path, Problems.strict());
    }

    static Dataset load(Path path, Problems problems) {
        Parts parts = Files.isDirectory(path) ? fromFolder(path) : fromArchive(path);
        List<String> keys = Datasets.parseNames(new String(parts.names().data(), StandardCharsets.UTF_8),
                parts.names().where());
        List<Sample> train = samples(parts.train(), keys.size(), problems);
        List<Sample> test = samples(parts.test(), keys.size(), problems);
        return new Dataset("CIFAR-100 binary", path, keys, ImageFolders.displayNames(keys), train, test, null);
    }

    /** Whether a folder looks like the unpacked distribution (or holds it). */
    static boolean isFolder(Path dir) {
        return Files.isRegularFile(dir.resolve(TRAIN)) || Files.isRegularFile(dir.resolve(ARCHIVE_FOLDER).resolve(TRAIN));
    }

    // ------------------------------------------------------------------ folder

    private static Parts fromFolder(Path path) {
        Path dir = !Files.exists(path.resolve(TRAIN)) && Files.isDirectory(path.resolve(ARCHIVE_FOLDER))
                ? path.resolve(ARCHIVE_FOLDER) : path;
        Path names = Files.isRegularFile(dir.resolve("meta").resolve(NAMES)) ? dir.resolve("meta").resolve(NAMES)
                : dir.resolve(NAMES);
        return new Parts(readFile(dir.resolve(TRAIN), true), readFile(dir.resolve(TEST), true), readFile(names, false));
    }

    private static Part readFile(Path file, boolean records) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": missing (CIFAR-100 binary)");
        try {
            if (records) checkRecordBytes(Files.size(file), file.toString());
            return new Part(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Refuses a size that is not a whole, non-zero number of records before anything is allocated. */
    private static void checkRecordBytes(long size, String where) {
        if (size == 0 || size % RECORD_BYTES != 0) {
            throw new IllegalArgumentException(where + ": " + size + " bytes is not a whole number of " + RECORD_BYTES
                    + "-byte CIFAR-100 records (truncated or not CIFAR-100?)");
        }
        if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(where + ": too large (" + size + " bytes)");
    }

    // ------------------------------------------------------------------ archive

    private static Parts fromArchive(Path archive) {
        if (!Files.isRegularFile(archive)) throw new IllegalArgumentException(archive + ": no such file or folder");
        Part train = null;
        Part test = null;
        Part names = null;
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16))) {
            TarReader tar = new TarReader(in, archive.toString());
            for (TarReader.Entry e = tar.next(); e != null && (train == null || test == null || names == null); e = tar.next()) {
                String where = archive + "!" + e.name();
                switch (e.baseName()) {
                    case TRAIN -> train = recordPart(tar, e, where);
                    case TEST -> test = recordPart(tar, e, where);
                    case NAMES -> names = new Part(tar.read(e), where);
                    default -> { } // coarse names, readme: not used
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(archive + ": cannot read the archive (truncated or not a .tar.gz?): "
                    + e.getMessage(), e);
        }
        return new Parts(required(train, archive, TRAIN), required(test, archive, TEST), required(names, archive, NAMES));
    }

    private static Part recordPart(TarReader tar, TarReader.Entry e, String where) throws IOException {
        checkRecordBytes(e.size(), where);
        return new Part(tar.read(e), where);
    }

    private static Part required(Part part, Path archive, String name) {
        if (part == null) throw new IllegalArgumentException(archive + ": the archive holds no " + name);
        return part;
    }

    // ------------------------------------------------------------------ records

    private static List<Sample> samples(Part part, int classes, Problems problems) {
        byte[] data = part.data();
        int n = data.length / RECORD_BYTES;
        List<Sample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int offset = i * RECORD_BYTES;
            int fine = data[offset + 1] & 0xFF;
            if (fine >= classes) {
                problems.add(part.where(), "record " + i + ": fine label " + fine + " is outside the " + classes
                        + " class names");
                continue;
            }
            out.add(Sample.inMemory(() -> RgbImage.fromPlanes(SIDE, SIDE, data, offset + 2), fine));
        }
        return out;
    }
}
