package io.starprompt.data.sets;

import io.starprompt.cl.TaskData.Split;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Datasets stored as folders of images, one folder per class, in two layouts:
 * <pre>
 *   root/train/&lt;class&gt;/*.{jpg,jpeg,png}     {@link #trainTest}: the split is given by the tree
 *   root/test/&lt;class&gt;/*.{jpg,jpeg,png}
 *
 *   root/&lt;class&gt;/*.{jpg,jpeg,png}           {@link #withSplitFile}: a CSV/JSON file assigns the split
 *                                         {@link #stratified}: a seeded split per class
 * </pre>
 * The original labels are the sorted class folder names (by {@link String#compareTo}); class names
 * are the folder names with '_' replaced by ' '. Folders whose name starts with '.' are ignored.
 * Images within a class are sorted by file name.
 */
public final class ImageFolders {
    /** File extensions read (lower case). */
    public static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png");
    /** The share of each class that {@link #stratified} puts in the training set by default. */
    public static final double DEFAULT_TRAIN_FRACTION = 0.8;
    /** Split file names picked up from the root of a class-folder tree when none is given. */
    public static final List<String> SPLIT_FILE_NAMES = List.of("split.csv", "split.json");

    private static final String IMAGE_KINDS = String.join("/", EXTENSIONS);

    private ImageFolders() {}

    // ------------------------------------------------------------------ root/{train,test}/<class>/

    /**
     * Reads a {@code root/{train,test}/<class>/} tree. The classes are the union of the train and
     * test class folders: a class folder present in one split only, or one without images, is left
     * to {@link Dataset#coverageProblems()} (so that {@link DatasetCheck} lists them all).
     *
     * @param root the folder holding train and test
     * @return the dataset
     * @throws IllegalArgumentException if root, root/train or root/test is not a directory, there
     *     are no class folders, or a folder cannot be listed
     */
    public static Dataset trainTest(Path root) {
        return trainTest(root, Problems.strict());
    }

    /**
     * A train/test tree for {@link ImageTaskData}: {@code ImageTaskData.builder(trainTest(root))}.
     *
     * @param root the folder holding train and test
     * @return a task-data builder
     */
    public static ImageTaskData.Builder builder(Path root) {
        return ImageTaskData.builder(trainTest(root));
    }

    static Dataset trainTest(Path root, Problems problems) {
        requireDirectory(root, "image folder");
        Path trainDir = root.resolve("train");
        Path testDir = root.resolve("test");
        if (!Files.isDirectory(trainDir)) throw new IllegalArgumentException("image folder: missing train folder " + trainDir);
        if (!Files.isDirectory(testDir)) throw new IllegalArgumentException("image folder: missing test folder " + testDir);
        Set<String> union = new TreeSet<>(subfolders(trainDir));
        union.addAll(subfolders(testDir));
        if (union.isEmpty()) throw new IllegalArgumentException("image folder: no class folders in " + trainDir);
        List<String> keys = List.copyOf(union);
        List<Sample> train = new ArrayList<>();
        List<Sample> test = new ArrayList<>();
        for (int c = 0; c < keys.size(); c++) {
            addFolder(trainDir.resolve(keys.get(c)), c, train, problems);
            addFolder(testDir.resolve(keys.get(c)), c, test, problems);
        }
        Dataset.MissingClass missing = (split, label) -> {
            String key = keys.get(label);
            Path dir = root.resolve(Dataset.splitName(split)).resolve(key);
            if (Files.isDirectory(dir)) return new Problem(dir.toString(), "class folder holds no " + IMAGE_KINDS + " images");
            String other = Dataset.splitName(split == Split.TRAIN ? Split.TEST : Split.TRAIN);
            return new Problem(dir.toString(), "class folder missing (class '" + key + "' has a " + other + " folder)");
        };
        return new Dataset("image folders", root, keys, displayNames(keys), train, test, missing);
    }

    private static void addFolder(Path dir, int label, List<Sample> out, Problems problems) {
        if (!Files.isDirectory(dir)) return;
        for (Path f : images(dir, problems)) out.add(Sample.file(f, label));
    }

    // ------------------------------------------------------------------ root/<class>/ + split file

    /**
     * Reads a {@code root/<class>/} tree whose split is listed in a CSV ({@code path,label,split}
     * with a header) or JSON (a list of {@code {"path", "label", "split"}} objects) file. Paths are
     * relative to root and must stay inside it; a label is a class folder name or a class index
     * (0-based, in sorted folder order); split is {@code train} or {@code test}. Only the listed
     * images are used, in the file's order; whether they exist is left to {@link DatasetCheck}.
     *
     * @param root the folder of class folders
     * @param splitFile the CSV or JSON split file
     * @return the dataset
     * @throws IllegalArgumentException naming the file and line of the first bad entry, or for a
     *     root without class folders or an unreadable split file
     */
    public static Dataset withSplitFile(Path root, Path splitFile) {
        return withSplitFile(root, splitFile, Problems.strict());
    }

    static Dataset withSplitFile(Path root, Path splitFile, Problems problems) {
        List<String> keys = classFolders(root);
        List<Sample> train = new ArrayList<>();
        List<Sample> test = new ArrayList<>();
        Map<Path, String> seen = new HashMap<>();
        for (SplitFile.Entry e : SplitFile.read(splitFile, problems)) {
            Path file = inside(root, e.path(), e.where(), problems);
            int label = labelOf(e, keys, problems);
            Split split = splitOf(e, problems);
            if (file == null || label < 0 || split == null) continue;
            String first = seen.putIfAbsent(file, e.where());
            if (first != null) {
                problems.add(e.where(), file + " is listed twice (first at " + first + ")");
                continue;
            }
            (split == Split.TRAIN ? train : test).add(Sample.file(file, label));
        }
        Dataset.MissingClass missing = (split, label) -> new Problem(splitFile.toString(), "no "
                + Dataset.splitName(split) + " entries for class '" + keys.get(label) + "'");
        return new Dataset("class folders with split file " + splitFile.getFileName(), root, keys, displayNames(keys), train,
                test, missing);
    }

    /**
     * {@code base/relative} if it stays inside base, else null after reporting at {@code where}; the
     * result keeps base's form (relative or absolute).
     */
    static Path inside(Path base, String relative, String where, Problems problems) {
        if (relative.isEmpty()) {
            problems.add(where, "empty path");
            return null;
        }
        try {
            Path abs = base.toAbsolutePath().normalize();
            Path file = abs.resolve(relative).normalize();
            if (file.startsWith(abs) && !file.equals(abs)) return base.resolve(abs.relativize(file));
            problems.add(where, "path '" + relative + "' leaves the dataset folder " + base);
        } catch (InvalidPathException ex) {
            problems.add(where, "invalid path '" + relative + "': " + ex.getMessage());
        }
        return null;
    }

    private static int labelOf(SplitFile.Entry e, List<String> keys, Problems problems) {
        int byName = keys.indexOf(e.label());
        if (byName >= 0) return byName;
        try {
            int index = Integer.parseInt(e.label());
            if (index >= 0 && index < keys.size()) return index;
        } catch (NumberFormatException ignored) {
            // not an index either: reported below
        }
        problems.add(e.where(), "label '" + e.label() + "' is neither a class folder nor a class index in [0, "
                + keys.size() + ")");
        return -1;
    }

    private static Split splitOf(SplitFile.Entry e, Problems problems) {
        switch (e.split().toLowerCase(Locale.ROOT)) {
            case "train":
                return Split.TRAIN;
            case "test":
                return Split.TEST;
            default:
                problems.add(e.where(), "split '" + e.split() + "' is neither train nor test");
                return null;
        }
    }

    // ------------------------------------------------------------------ root/<class>/, stratified

    /**
     * Reads a {@code root/<class>/} tree and splits every class on its own: its images are shuffled
     * with a generator seeded by (seed, class folder name, image count) and the first
     * {@code round(n·(1 − trainFraction))} become test images, at least one and at most n − 1 when
     * n ≥ 2 (a class with a single image keeps it for training). The split depends only on the seed
     * and the class's own files, not on the other classes; both splits stay sorted by file name.
     *
     * @param root the folder of class folders
     * @param trainFraction share of each class used for training, in (0, 1) (0.8 is usual)
     * @param seed the split seed
     * @return the dataset
     * @throws IllegalArgumentException for a fraction outside (0, 1), a root without class folders
     *     or a folder that cannot be listed
     */
    public static Dataset stratified(Path root, double trainFraction, long seed) {
        return stratified(root, trainFraction, seed, Problems.strict());
    }

    static Dataset stratified(Path root, double trainFraction, long seed, Problems problems) {
        if (!(trainFraction > 0 && trainFraction < 1)) {
            throw new IllegalArgumentException("image folder: the train fraction must be in (0, 1), got " + trainFraction);
        }
        List<String> keys = classFolders(root);
        List<Sample> train = new ArrayList<>();
        List<Sample> test = new ArrayList<>();
        int[] counts = new int[keys.size()];
        for (int c = 0; c < keys.size(); c++) {
            List<Path> files = images(root.resolve(keys.get(c)), problems);
            counts[c] = files.size();
            Set<Path> testFiles = testPart(files, trainFraction, Shuffle.mix(seed, keys.get(c).hashCode(), files.size()));
            for (Path f : files) (testFiles.contains(f) ? test : train).add(Sample.file(f, c));
        }
        Dataset.MissingClass missing = (split, label) -> {
            Path dir = root.resolve(keys.get(label));
            if (counts[label] == 0) return new Problem(dir.toString(), "class folder holds no " + IMAGE_KINDS + " images");
            return new Problem(dir.toString(), "a single image cannot be split into train and test");
        };
        return new Dataset("class folders with a seeded " + Math.round(trainFraction * 100) + "/"
                + Math.round((1 - trainFraction) * 100) + " split", root, keys, displayNames(keys), train, test, missing);
    }

    /** The files drawn for the test set of one class. */
    private static Set<Path> testPart(List<Path> files, double trainFraction, long seed) {
        int n = files.size();
        int nTest = n < 2 ? 0 : (int) Math.max(1, Math.min(n - 1, Math.round(n * (1 - trainFraction))));
        List<Path> shuffled = new ArrayList<>(files);
        Shuffle.shuffle(shuffled, new SplittableRandom(seed));
        return new HashSet<>(shuffled.subList(0, nTest));
    }

    /** split.csv or split.json in root, or null; both present is ambiguous. */
    static Path findSplitFile(Path root) {
        List<Path> found = SPLIT_FILE_NAMES.stream().map(root::resolve).filter(Files::isRegularFile).toList();
        if (found.size() > 1) {
            throw new IllegalArgumentException(root + ": both " + found + " exist; name the split file to use");
        }
        return found.isEmpty() ? null : found.get(0);
    }

    // ------------------------------------------------------------------ listing

    private static void requireDirectory(Path root, String what) {
        if (!Files.isDirectory(root)) throw new IllegalArgumentException(what + ": " + root + " is not a directory");
    }

    private static List<String> classFolders(Path root) {
        requireDirectory(root, "class folders");
        List<String> keys = subfolders(root);
        if (keys.isEmpty()) throw new IllegalArgumentException("class folders: no class folders in " + root);
        return keys;
    }

    /** Sorted names of the non-hidden subfolders. */
    static List<String> subfolders(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException("image folder: cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The image files of a folder, sorted; a folder that cannot be listed is reported and yields none. */
    static List<Path> images(Path dir, Problems problems) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(ImageFolders::isImage).sorted().toList();
        } catch (IOException e) {
            problems.add(dir, "cannot list the folder: " + e.getMessage());
            return List.of();
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(n::endsWith);
    }

    /** Readable names: '_' becomes ' '. */
    static List<String> displayNames(List<String> keys) {
        return keys.stream().map(k -> k.replace('_', ' ')).toList();
    }
}
