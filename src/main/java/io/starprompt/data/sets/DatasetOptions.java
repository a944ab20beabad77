package io.starprompt.data.sets;

import java.nio.file.Path;

/**
 * How {@link Datasets#open} reads a dataset. Immutable; start from {@link #defaults()} and change
 * what is needed with the {@code with...} methods.
 *
 * @param format the format, or null to recognise it from the path
 * @param classNames a text file with one class name per line (original-label order) replacing the
 *     dataset's own names, or null
 * @param splitFile for class folders: the CSV/JSON split file, or null to use {@code split.csv} /
 *     {@code split.json} in the root if present, else the seeded stratified split
 * @param trainFraction for the stratified split: the share of each class used for training, in (0, 1)
 * @param splitSeed for the stratified split: its seed
 */
public record DatasetOptions(Datasets.Format format, Path classNames, Path splitFile, double trainFraction,
        long splitSeed) {
    /**
     * Checks the train fraction.
     *
     * @param format the format, or null to recognise it from the path
     * @param classNames a file of class names, one per line, or null
     * @param splitFile the split file of a class-folder tree, or null
     * @param trainFraction the stratified split's train share
     * @param splitSeed the stratified split's seed
     */
    public DatasetOptions {
        if (!(trainFraction > 0 && trainFraction < 1)) {
            throw new IllegalArgumentException("the train fraction must be in (0, 1), got " + trainFraction);
        }
    }

    /**
     * Format recognised from the path, the dataset's names, split file or 80/20 split with seed 0.
     *
     * @return the defaults
     */
    public static DatasetOptions defaults() {
        return new DatasetOptions(null, null, null, ImageFolders.DEFAULT_TRAIN_FRACTION, 0);
    }

    /**
     * With an explicit format (null: recognise it).
     *
     * @param f the format, or null
     * @return the copy
     */
    public DatasetOptions withFormat(Datasets.Format f) {
        return new DatasetOptions(f, classNames, splitFile, trainFraction, splitSeed);
    }

    /**
     * With a format given by its command-line value ({@code auto} or a {@link Datasets.Format#id()}).
     *
     * @param value the command-line value
     * @return the copy
     * @throws IllegalArgumentException listing the known values
     */
    public DatasetOptions withFormat(String value) {
        return withFormat(value.equalsIgnoreCase("auto") ? null : Datasets.Format.parse(value));
    }

    /**
     * With class names read from a file, one per line.
     *
     * @param file the names file
     * @return the copy
     */
    public DatasetOptions withClassNames(Path file) {
        return new DatasetOptions(format, file, splitFile, trainFraction, splitSeed);
    }

    /**
     * With the split file of a class-folder tree.
     *
     * @param file the split file
     * @return the copy
     */
    public DatasetOptions withSplitFile(Path file) {
        return new DatasetOptions(format, classNames, file, trainFraction, splitSeed);
    }

    /**
     * With the stratified split's train share, in (0, 1).
     *
     * @param fraction the train share
     * @return the copy
     */
    public DatasetOptions withTrainFraction(double fraction) {
        return new DatasetOptions(format, classNames, splitFile, fraction, splitSeed);
    }

    /**
     * With the stratified split's seed.
     *
     * @param seed the seed
     * @return the copy
     */
    public DatasetOptions withSplitSeed(long seed) {
        return new DatasetOptions(format, classNames, splitFile, trainFraction, seed);
    }
}
