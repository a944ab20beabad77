package io.starprompt.data.sets;

import io.starprompt.data.ImageSource;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One labelled image of a dataset: how to load it, its original label (the dataset's own class
 * index, before any class order) and, for images stored as files, the file.
 *
 * @param source decodes the image when a batch needs it
 * @param label original label, {@code >= 0}
 * @param file the image file, or null for images held in memory (CIFAR records, IDX arrays)
 */
public record Sample(ImageSource source, int label, Path file) {
    /**
     * Validates the fields.
     *
     * @param source the image
     * @param label its original label
     * @param file the file it is stored in, or null
     */
    public Sample {
        Objects.requireNonNull(source, "sample: image source");
        if (label < 0) throw new IllegalArgumentException("sample: negative label " + label);
    }

    /**
     * An image file, decoded with {@link io.starprompt.data.Images#decode(Path)} when loaded.
     *
     * @param file the file
     * @param label its original label
     * @return the sample
     */
    public static Sample file(Path file, int label) {
        return new Sample(ImageSource.file(file), label, Objects.requireNonNull(file, "sample: file"));
    }

    /**
     * An image held in memory (decoding cannot fail for a missing or unreadable file).
     *
     * @param source the image
     * @param label its original label
     * @return the sample
     */
    public static Sample inMemory(ImageSource source, int label) {
        return new Sample(source, label, null);
    }

    /**
     * Whether the image is a file (which {@link DatasetCheck} probes and builders can exclude).
     *
     * @return whether it is a file
     */
    public boolean hasFile() {
        return file != null;
    }
}
