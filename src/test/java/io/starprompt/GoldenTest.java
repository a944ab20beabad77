package io.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the test classes that compare against the golden set: opens it once before the class's
 * tests and closes it after them, and compares results with its tensors. Test classes run one
 * after another, so the one static field serves each subclass in turn.
 */
public abstract class GoldenTest {
    /** The golden set, open while the subclass's tests run. */
    protected static GoldenSet golden;

    @BeforeAll
    static void openGoldenSet() {
        golden = GoldenSet.open();
    }

    @AfterAll
    static void closeGoldenSet() {
        golden.close();
        golden = null;
    }

    /** A golden tensor uploaded to the backend with its golden shape. */
    protected static Tensor upload(Backend be, String name) {
        return be.fromArray(golden.get(name), golden.shape(name));
    }

    /** A forward result has the shape and, within {@link GoldenSet#FORWARD_TOL}, the values of a golden tensor. */
    protected static void assertForwardMatches(Backend be, String what, String name, Tensor ours) {
        GoldenSet.assertShape(what, golden.shape(name), ours.shape());
        GoldenSet.assertForward(what, golden.get(name), be.toFloatArray(ours));
    }

    /** A gradient has the shape and, within {@link GoldenSet#GRADIENT_REL_L2}, the values of a golden tensor. */
    protected static void assertGradientMatches(Backend be, String what, String name, Tensor ours) {
        GoldenSet.assertShape(what, golden.shape(name), ours.shape());
        GoldenSet.assertGradient(what, golden.get(name), be.toFloatArray(ours));
    }
}
