package io.starprompt.data.sets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CUB-200-2011 in its official layout ({@code CUB_200_2011/}, or the folder holding it):
 * <pre>
 *   images.txt               &lt;image id&gt; &lt;path under images/&gt;
 *   image_class_labels.txt   &lt;image id&gt; &lt;class id, 1-based&gt;
 *   train_test_split.txt     &lt;image id&gt; &lt;1 = train, 0 = test&gt;
 *   classes.txt              &lt;class id&gt; &lt;name, e.g. 001.Black_footed_Albatross&gt;
 *   images/...
 * </pre>
 * Original label = class id − 1 (the official class order); class names drop the numeric prefix
 * and replace '_' by ' ' ("Black footed Albatross"). Samples follow images.txt. Whether the image
 * files exist is left to {@link DatasetCheck}.
 */
public final class Cub200 {
    /** The folder of the official archive. */
    public static final String FOLDER = "CUB_200_2011";

    static final String IMAGES = "images.txt";
    static final String LABELS = "image_class_labels.txt";
    static final String SPLIT = "train_test_split.txt";
    static final String CLASSES = "classes.txt";

    /** The value of one {@code id value} line and where it was read. */
    private record Row(String value, String where) {}

    private Cub200() {}

    /**
     * Reads the index files.
     *
     * @param path the CUB_200_2011 folder
     * @return the dataset
     * @throws IllegalArgumentException naming the file (and line) if an index file is missing, a
     *     line is malformed, an id is repeated or unknown, a class id or split flag is invalid, or the
     *     class ids do not run from 1 to N
     */
    public static Dataset load(Path path) {
        return load(path, Problems.strict());
    }

    static Dataset load(Path path, Problems problems) {
        Path root = rootOf(path);
        Path classesFile = root.resolve(CLASSES);
        List<String> keys = classKeys(table(classesFile, problems), classesFile);
        Map<Integer, Row> labels = table(root.resolve(LABELS), problems);
        Map<Integer, Row> flags = table(root.resolve(SPLIT), problems);
        Map<Integer, Row> images = table(root.resolve(IMAGES), problems);
        reportUnknownIds(labels, images, problems);
        reportUnknownIds(flags, images, problems);
        Path imageDir = root.resolve("images");
        List<Sample> train = new ArrayList<>();
        List<Sample> test = new ArrayList<>();
        for (Map.Entry<Integer, Row> image : images.entrySet()) {
            int id = image.getKey();
            Path file = ImageFolders.inside(imageDir, image.getValue().value(), image.getValue().where(), problems);
            int label = label(labels.get(id), id, keys.size(), root, problems);
            int isTrain = flag(flags.get(id), id, root, problems);
            if (file == null || label < 0 || isTrain < 0) continue;
            (isTrain == 1 ? train : test).add(Sample.file(file, label));
        }
        List<String> names = keys.stream().map(Cub200::displayName).toList();
        Dataset.MissingClass missing = (split, label) -> new Problem(root.resolve(SPLIT).toString(), "class " + (label + 1)
                + " '" + keys.get(label) + "' has no " + Dataset.splitName(split) + " images");
        return new Dataset("CUB-200-2011", root, keys, names, train, test, missing);
    }

    /** Whether a folder is the official layout or holds it. */
    static boolean isFolder(Path dir) {
        Path root = rootOf(dir);
        return Files.isRegularFile(root.resolve(IMAGES)) && Files.isRegularFile(root.resolve(CLASSES));
    }

    private static Path rootOf(Path path) {
        return !Files.exists(path.resolve(IMAGES)) && Files.isDirectory(path.resolve(FOLDER)) ? path.resolve(FOLDER) : path;
    }

    /** "001.Black_footed_Albatross" → "Black footed Albatross". */
    static String displayName(String key) {
        return key.replaceFirst("^\\d+\\.", "").replace('_', ' ');
    }

    // ------------------------------------------------------------------ index files

    /** The {@code id value} lines of a file by id, in file order; bad lines are reported and skipped. */
    private static Map<Integer, Row> table(Path file, Problems problems) {
        List<String> lines = readLines(file);
        Map<Integer, Row> out = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            String where = file + ":" + (i + 1);
            String[] parts = line.split("\\s+", 2);
            int id = positive(parts[0]);
            if (parts.length < 2 || id < 0) {
                problems.add(where, "expected '<positive id> <value>', got '" + line + "'");
            } else if (out.containsKey(id)) {
                problems.add(where, "id " + id + " repeats " + out.get(id).where());
            } else {
                out.put(id, new Row(parts[1], where));
            }
        }
        return out;
    }

    private static List<String> readLines(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": missing (CUB-200-2011 layout)");
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A positive integer, or -1. */
    private static int positive(String s) {
        try {
            int v = Integer.parseInt(s);
            return v > 0 ? v : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The class names in id order; the ids must be exactly 1..N since labels index them. */
    private static List<String> classKeys(Map<Integer, Row> classes, Path file) {
        List<String> keys = new ArrayList<>(classes.size());
        for (int id = 1; id <= classes.size(); id++) {
            Row row = classes.get(id);
            if (row == null) {
                throw new IllegalArgumentException(file + ": class ids must run from 1 to " + classes.size() + ", " + id
                        + " is missing");
            }
            keys.add(row.value());
        }
        if (keys.isEmpty()) throw new IllegalArgumentException(file + ": no classes");
        return keys;
    }

    private static void reportUnknownIds(Map<Integer, Row> table, Map<Integer, Row> images, Problems problems) {
        for (Map.Entry<Integer, Row> e : table.entrySet()) {
            if (!images.containsKey(e.getKey())) {
                problems.add(e.getValue().where(), "image id " + e.getKey() + " is not in " + IMAGES);
            }
        }
    }

    /** The 0-based label of an image, or -1 after reporting. */
    private static int label(Row row, int id, int classes, Path root, Problems problems) {
        if (row == null) {
            problems.add(root.resolve(LABELS), "no class for image id " + id);
            return -1;
        }
        int classId = positive(row.value());
        if (classId < 1 || classId > classes) {
            problems.add(row.where(), "class id '" + row.value() + "' is outside 1.." + classes);
            return -1;
        }
        return classId - 1;
    }

    /** 1 for train, 0 for test, or -1 after reporting. */
    private static int flag(Row row, int id, Path root, Problems problems) {
        if (row == null) {
            problems.add(root.resolve(SPLIT), "no train/test flag for image id " + id);
            return -1;
        }
        if (!row.value().equals("0") && !row.value().equals("1")) {
            problems.add(row.where(), "train/test flag '" + row.value() + "' is neither 1 nor 0");
            return -1;
        }
        return row.value().equals("1") ? 1 : 0;
    }
}
