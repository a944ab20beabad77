package io.starprompt.data.sets;

import io.starprompt.cl.TaskData.Split;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * A labelled image dataset as a format loader reads it, before any class order, task split or
 * transform: the train and test samples with their original labels, and the class list. Original
 * labels follow the dataset's own class order (sorted folder names, the CIFAR fine-label file,
 * CUB's classes.txt...). Immutable; images stay undecoded until a batch needs them.
 *
 * <p>A class without train or test samples is allowed here (so that {@link DatasetCheck} can
 * report it with everything else) but refused by {@link ImageTaskData}; see
 * {@link #coverageProblems()}.
 */
public final class Dataset {
    /** Names, for a class without samples in a split, the place where they were expected. */
    @FunctionalInterface
    interface MissingClass {
        Problem describe(Split split, int label);
    }

    private final String format;
    private final Path location;
    private final List<String> classKeys;
    private final List<String> classNames;
    private final List<Sample> train;
    private final List<Sample> test;
    /** Null: the default description naming the dataset location. */
    private final MissingClass missing;

    Dataset(String format, Path location, List<String> classKeys, List<String> classNames, List<Sample> train,
            List<Sample> test, MissingClass missing) {
        this.format = Objects.requireNonNull(format, "dataset: format");
        this.location = Objects.requireNonNull(location, "dataset: location");
        this.classKeys = List.copyOf(classKeys);
        this.classNames = List.copyOf(classNames);
        this.train = List.copyOf(train);
        this.test = List.copyOf(test);
        this.missing = missing;
        if (classKeys.isEmpty()) throw new IllegalArgumentException(location + ": the dataset has no classes");
        if (classKeys.size() != classNames.size()) {
            throw new IllegalArgumentException(location + ": " + classKeys.size() + " class keys but " + classNames.size()
                    + " class names");
        }
        checkLabels(this.train);
        checkLabels(this.test);
    }

    /**
     * A dataset over samples of any origin.
     *
     * @param format a short description of where the data comes from (used in messages)
     * @param location the file or folder the data was read from
     * @param classNames names in original-label order; label i is named by entry i
     * @param train the training samples
     * @param test the test samples
     * @return the dataset
     * @throws IllegalArgumentException if there are no classes or a label is outside the class list
     */
    public static Dataset of(String format, Path location, List<String> classNames, List<Sample> train,
            List<Sample> test) {
        return new Dataset(format, location, classNames, classNames, train, test, null);
    }

    private void checkLabels(List<Sample> samples) {
        for (Sample s : samples) {
            if (s.label() >= classKeys.size()) {
                throw new IllegalArgumentException(location + ": label " + s.label() + " of "
                        + (s.hasFile() ? s.file() : "an in-memory sample") + " is outside the " + classKeys.size()
                        + " classes");
            }
        }
    }

    private Problem describeMissing(Split split, int label) {
        if (missing != null) return missing.describe(split, label);
        return new Problem(location.toString(), "class " + label + " '" + classNames.get(label) + "' has no "
                + splitName(split) + " images");
    }

    /** "train" or "test". */
    static String splitName(Split split) {
        return split.name().toLowerCase(Locale.ROOT);
    }

    /**
     * A short description of the format, e.g. "CIFAR-100 binary".
     *
     * @return the description
     */
    public String format() {
        return format;
    }

    /**
     * The file or folder the data was read from.
     *
     * @return the location
     */
    public Path location() {
        return location;
    }

    /**
     * The number of classes C.
     *
     * @return C
     */
    public int classes() {
        return classKeys.size();
    }

    /**
     * Readable class names in original-label order (what CLIP's prompts use).
     *
     * @return the names
     */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * The dataset's own class identifiers in original-label order (folder names, raw label names).
     *
     * @return the identifiers
     */
    public List<String> classKeys() {
        return classKeys;
    }

    /**
     * The training samples, in the loader's order.
     *
     * @return the samples
     */
    public List<Sample> train() {
        return train;
    }

    /**
     * The test samples, in the loader's order.
     *
     * @return the samples
     */
    public List<Sample> test() {
        return test;
    }

    /**
     * The samples of a split.
     *
     * @param split train or test
     * @return its samples
     */
    public List<Sample> samples(Split split) {
        return split == Split.TRAIN ? train : test;
    }

    /**
     * The samples of original label {@code label} in a split.
     *
     * @param split train or test
     * @param label an original label
     * @return the number of its samples in the split
     */
    public int count(Split split, int label) {
        int n = 0;
        for (Sample s : samples(split)) {
            if (s.label() == label) n++;
        }
        return n;
    }

    /**
     * Every image file of both splits, each once, in order of first appearance.
     *
     * @return the files
     */
    public List<Path> files() {
        Set<Path> out = new LinkedHashSet<>();
        for (List<Sample> split : List.of(train, test)) {
            for (Sample s : split) {
                if (s.hasFile()) out.add(s.file());
            }
        }
        return List.copyOf(out);
    }

    /**
     * The classes without any train or without any test sample, each named by the place its images
     * were expected (a class folder, the split file...). Empty when every class can be trained and
     * tested.
     *
     * @return the problems
     */
    public List<Problem> coverageProblems() {
        int[][] counts = new int[2][classes()];
        for (Split split : Split.values()) {
            for (Sample s : samples(split)) counts[split.ordinal()][s.label()]++;
        }
        List<Problem> out = new ArrayList<>();
        for (int c = 0; c < classes(); c++) {
            for (Split split : Split.values()) {
                if (counts[split.ordinal()][c] == 0) out.add(describeMissing(split, c));
            }
        }
        return out;
    }

    /**
     * The same dataset without the samples stored in the given files (compared as absolute,
     * normalised paths); in-memory samples are kept.
     *
     * @param files the files to leave out
     * @return the dataset without them
     */
    public Dataset excluding(Collection<Path> files) {
        if (files.isEmpty()) return this;
        Set<Path> drop = new HashSet<>();
        for (Path f : files) drop.add(canonical(f));
        return new Dataset(format, location, classKeys, classNames, without(train, drop), without(test, drop), missing);
    }

    private static List<Sample> without(List<Sample> samples, Set<Path> drop) {
        return samples.stream().filter(s -> !s.hasFile() || !drop.contains(canonical(s.file()))).toList();
    }

    private static Path canonical(Path p) {
        return p.toAbsolutePath().normalize();
    }

    /**
     * The same samples with other class names (e.g. read from a names file).
     *
     * @param names one name per class
     * @return the renamed dataset
     * @throws IllegalArgumentException unless there is exactly one name per class
     */
    public Dataset withClassNames(List<String> names) {
        if (names.size() != classes()) {
            throw new IllegalArgumentException(location + ": " + names.size() + " class names for " + classes() + " classes");
        }
        return new Dataset(format, location, classKeys, names, train, test, missing);
    }

    @Override
    public String toString() {
        return format + " " + location + " (" + classes() + " classes, " + train.size() + " train / " + test.size()
                + " test images)";
    }
}
