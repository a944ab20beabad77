package io.starprompt.data.sets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Opens a dataset in any supported format, recognised from the path unless given:
 * <ul>
 *   <li>a {@code .tar.gz}/{@code .tgz} file, or a folder with {@code train.bin}: CIFAR-100 binary
 *       ({@link Cifar100});</li>
 *   <li>a folder with {@code images.txt} and {@code classes.txt}: CUB-200-2011 ({@link Cub200});</li>
 *   <li>a folder with {@code train-images-idx3-ubyte[.gz]}: the MNIST family ({@link Idx});</li>
 *   <li>a folder with {@code train/} and {@code test/}: class folders per split
 *       ({@link ImageFolders#trainTest});</li>
 *   <li>any other folder with subfolders: class folders with a split file or a seeded split
 *       ({@link ImageFolders#withSplitFile}, {@link ImageFolders#stratified}).</li>
 * </ul>
 * Class names come from the dataset unless {@link DatasetOptions#classNames()} names a file.
 */
public final class Datasets {
    /** The dataset formats, with their command-line values. */
    public enum Format {
        /** CIFAR-100 binary distribution, archive or folder. */
        CIFAR100("cifar100", "CIFAR-100 binary: cifar-100-binary.tar.gz or a folder with train.bin, test.bin"),
        /** CUB-200-2011 official layout. */
        CUB200("cub200", "CUB-200-2011: a folder with images.txt, classes.txt, image_class_labels.txt,"
                + " train_test_split.txt, images/"),
        /** IDX files of the MNIST family. */
        IDX("idx", "MNIST family: a folder with train-images-idx3-ubyte[.gz] and the other IDX files"),
        /** DIR/{train,test}/&lt;class&gt;/. */
        IMAGE_FOLDERS("folders", "image folders: DIR/train/<class>/ and DIR/test/<class>/"),
        /** DIR/&lt;class&gt;/ with a split file or a seeded split. */
        CLASS_FOLDERS("class-folders", "class folders: DIR/<class>/ with split.csv/split.json or a seeded split");

        private final String id;
        private final String description;

        Format(String id, String description) {
            this.id = id;
            this.description = description;
        }

        /**
         * The command-line value, e.g. {@code cifar100}.
         *
         * @return the value
         */
        public String id() {
            return id;
        }

        /**
         * What the format looks like on disk.
         *
         * @return the description
         */
        public String description() {
            return description;
        }

        /**
         * The format with this command-line value (case-insensitive).
         *
         * @param value the command-line value
         * @return the format
         * @throws IllegalArgumentException listing the known values
         */
        public static Format parse(String value) {
            for (Format f : values()) {
                if (f.id.equalsIgnoreCase(value)) return f;
            }
            throw new IllegalArgumentException("unknown dataset format '" + value + "'; known: auto, " + ids());
        }

        static String ids() {
            return Arrays.stream(values()).map(Format::id).collect(Collectors.joining(", "));
        }
    }

    private Datasets() {}

    /**
     * Opens a dataset for training; the first problem found is thrown (run {@link DatasetCheck}
     * first to see them all).
     *
     * @param path the dataset's file or folder
     * @param options how to read it
     * @return the dataset
     * @throws IllegalArgumentException naming the file at fault, or saying that the format cannot be
     *     recognised
     */
    public static Dataset open(Path path, DatasetOptions options) {
        return open(path, options, Problems.strict());
    }

    static Dataset open(Path path, DatasetOptions options, Problems problems) {
        Format format = options.format() != null ? options.format() : detect(path);
        Dataset d = switch (format) {
            case CIFAR100 -> Cifar100.load(path, problems);
            case CUB200 -> Cub200.load(path, problems);
            case IDX -> Idx.load(path);
            case IMAGE_FOLDERS -> ImageFolders.trainTest(path, problems);
            case CLASS_FOLDERS -> classFolders(path, options, problems);
        };
        return options.classNames() == null ? d : withNamesFile(d, options.classNames());
    }

    private static Dataset classFolders(Path root, DatasetOptions o, Problems problems) {
        Path split = o.splitFile() != null ? o.splitFile()
                : Files.isDirectory(root) ? ImageFolders.findSplitFile(root) : null;
        return split != null ? ImageFolders.withSplitFile(root, split, problems)
                : ImageFolders.stratified(root, o.trainFraction(), o.splitSeed(), problems);
    }

    /**
     * Recognises the format of a dataset path.
     *
     * @param path the dataset's file or folder
     * @return its format
     * @throws IllegalArgumentException if the path does not exist, matches no format or several
     */
    public static Format detect(Path path) {
        if (Files.isRegularFile(path)) {
            String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) return Format.CIFAR100;
            throw new IllegalArgumentException(path + ": cannot tell the dataset format of this file (the only archive"
                    + " read is CIFAR-100's cifar-100-binary.tar.gz); give a dataset folder, or --format");
        }
        if (!Files.isDirectory(path)) throw new IllegalArgumentException(path + ": no such file or folder");
        List<Format> matches = new ArrayList<>();
        if (Cifar100.isFolder(path)) matches.add(Format.CIFAR100);
        if (Cub200.isFolder(path)) matches.add(Format.CUB200);
        if (Idx.isFolder(path)) matches.add(Format.IDX);
        if (Files.isDirectory(path.resolve("train")) && Files.isDirectory(path.resolve("test"))) {
            matches.add(Format.IMAGE_FOLDERS);
        }
        // Every other format has subfolders too, so class folders are only the fallback.
        if (matches.isEmpty() && !ImageFolders.subfolders(path).isEmpty()) matches.add(Format.CLASS_FOLDERS);
        if (matches.size() == 1) return matches.get(0);
        if (matches.isEmpty()) {
            throw new IllegalArgumentException(path + ": cannot tell the dataset format; expected one of:\n  "
                    + Arrays.stream(Format.values()).map(f -> f.id() + ": " + f.description())
                            .collect(Collectors.joining("\n  ")) + "\n(--format picks one: " + Format.ids() + ")");
        }
        throw new IllegalArgumentException(path + ": looks like several dataset formats ("
                + matches.stream().map(Format::id).collect(Collectors.joining(", ")) + "); choose one with --format");
    }

    // ------------------------------------------------------------------ class names

    /**
     * Reads class names, one per line (surrounding blanks stripped, trailing empty lines ignored).
     *
     * @param file the file
     * @return the names
     * @throws IllegalArgumentException naming the file for an unreadable file, an empty name, a
     *     repeated name or no names at all
     */
    public static List<String> readNames(Path file) {
        try {
            return parseNames(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the class names: " + e.getMessage(), e);
        }
    }

    static List<String> parseNames(String text, String where) {
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        List<String> lines = new ArrayList<>(Arrays.asList(body.split("\r?\n", -1)));
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) lines.remove(lines.size() - 1);
        if (lines.isEmpty()) throw new IllegalArgumentException(where + ": no class names");
        Map<String, Integer> seen = new HashMap<>();
        List<String> names = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String name = lines.get(i).strip();
            if (name.isEmpty()) throw new IllegalArgumentException(where + ":" + (i + 1) + ": empty class name");
            Integer first = seen.putIfAbsent(name, i + 1);
            if (first != null) {
                throw new IllegalArgumentException(where + ":" + (i + 1) + ": class name '" + name + "' repeats line " + first);
            }
            names.add(name);
        }
        return names;
    }

    private static Dataset withNamesFile(Dataset d, Path file) {
        List<String> names = readNames(file);
        if (names.size() != d.classes()) {
            throw new IllegalArgumentException(file + ": " + names.size() + " class names, but " + d.location() + " has "
                    + d.classes() + " classes");
        }
        return d.withClassNames(names);
    }
}
