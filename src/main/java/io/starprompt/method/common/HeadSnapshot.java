package io.starprompt.method.common;

import io.starprompt.backend.Backend;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.MethodState;
import io.starprompt.tensor.Tensor;
import java.util.Arrays;

/**
 * A host copy of the head (W [C, D], b [C]): the stage-2 backup of the un-aligned head (ALGORITHM.md §4.8
 * steps 2 and 5). Immutable.
 */
public final class HeadSnapshot {
    private final float[] weight;
    private final float[] bias;
    private final int classes;
    private final int width;

    private HeadSnapshot(float[] weight, float[] bias, int classes, int width) {
        this.weight = weight;
        this.bias = bias;
        this.classes = classes;
        this.width = width;
    }

    /**
     * Copies the head's current values to the host.
     *
     * @param be the head's backend
     * @param head the head
     * @return the snapshot
     */
    public static HeadSnapshot of(Backend be, LinearHead head) {
        return new HeadSnapshot(be.toFloatArray(head.weight()), be.toFloatArray(head.bias()),
                (int) head.weight().dim(0), (int) head.weight().dim(1));
    }

    /**
     * Overwrites the head with these values.
     *
     * @param be the head's backend
     * @param head the head to overwrite
     */
    public void restoreInto(Backend be, LinearHead head) {
        if (head.weight().dim(0) != classes || head.weight().dim(1) != width) {
            throw new IllegalArgumentException("head snapshot [" + classes + ", " + width + "] does not fit " + head.weight());
        }
        try (Tensor w = be.fromArray(weight, classes, width); Tensor b = be.fromArray(bias, classes)) {
            be.copy(w, head.weight());
            be.copy(b, head.bias());
        }
    }

    /**
     * Stores the snapshot in a method state: {@code prefix}weight [C, D] and {@code prefix}bias [C].
     *
     * @param state the state to add to
     * @param prefix the names' prefix
     */
    public void saveTo(MethodState state, String prefix) {
        state.putFloats(prefix + "weight", weight, classes, width);
        state.putFloats(prefix + "bias", bias, classes);
    }

    /**
     * The snapshot {@link #saveTo} stored under prefix, for a head of C classes × D.
     *
     * @param state the state to read
     * @param prefix the names' prefix
     * @param classes C
     * @param width D
     * @return the snapshot
     * @throws CheckpointException if the entries are missing or of another shape
     */
    public static HeadSnapshot restoreFrom(MethodState state, String prefix, int classes, int width) {
        return new HeadSnapshot(state.floats(prefix + "weight", classes, width), state.floats(prefix + "bias", classes),
                classes, width);
    }

    /**
     * W [C, D], row-major (a copy).
     *
     * @return the weights
     */
    public float[] weight() {
        return weight.clone();
    }

    /**
     * b [C] (a copy).
     *
     * @return the biases
     */
    public float[] bias() {
        return bias.clone();
    }

    /**
     * C.
     *
     * @return C
     */
    public int classes() {
        return classes;
    }

    /**
     * D, the feature width.
     *
     * @return D
     */
    public int width() {
        return width;
    }

    /**
     * Whether the head holds exactly these values.
     *
     * @param be the head's backend
     * @param head the head
     * @return whether they are equal
     */
    public boolean matches(Backend be, LinearHead head) {
        return Arrays.equals(weight, be.toFloatArray(head.weight())) && Arrays.equals(bias, be.toFloatArray(head.bias()));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeadSnapshot s && Arrays.equals(weight, s.weight) && Arrays.equals(bias, s.bias)
                && classes == s.classes;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(weight) + Arrays.hashCode(bias);
    }
}
