package io.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.model.Precision;
import io.starprompt.tensor.Tensor;
import java.util.stream.Stream;
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

    /**
     * bf16 storage keeps 8 significant bits (relative steps of 2⁻⁸ ≈ 0.4%), rounded at every stored
     * activation of a dozen-op block: the golden comparisons of a bf16 run allow a relative L2
     * error of 2e-2 (the golden ViT's tokens come out near 6e-3).
     */
    protected static final double BF16_TOLERANCE = 2e-2;

    /** The precision the subclass loads its towers in: FP32, or BF16 in a {@link Bf16} subclass. */
    protected static Precision precision = Precision.FP32;

    @BeforeAll
    static void openGoldenSet() {
        golden = GoldenSet.open();
    }

    @AfterAll
    static void closeGoldenSet() {
        golden.close();
        golden = null;
        precision = Precision.FP32;
        GoldenSet.useRelativeL2(0);
    }

    /**
     * Implemented by a subclass of a golden test to rerun its tests with bf16 towers and the bf16
     * tolerance; it names {@link #bf16Backends()} as its {@code backends()}.
     */
    public interface Bf16 {
        /** Switches to bf16 before the class's tests. */
        @BeforeAll
        static void useBf16() {
            precision = Precision.BF16;
            GoldenSet.useRelativeL2(BF16_TOLERANCE);
        }
    }

    /**
     * The backends of a bf16 rerun: every backend has the bf16 forms of the towers' ops (cuda is
     * skipped, with the reason, where no device is usable).
     *
     * @return reference, cpu and cuda
     */
    protected static Stream<String> bf16Backends() {
        return Stream.of("reference", "cpu", "cuda");
    }

    /**
     * The tolerance of the stage-1 context gradient, taken through a softmax over CLIP's scaled
     * logits: the default in fp32; in bf16 three times the bf16 tolerance, because that loss
     * amplifies the features' bf16 error (about 0.9% relative L2 on the golden CLIP) to about 3%
     * in the gradient, on the reference backend (float64 arithmetic on bf16-rounded tensors) as on
     * the CPU one.
     */
    protected static double lossGradientTolerance() {
        return precision == Precision.FP32 ? GoldenSet.GRADIENT_REL_L2 : 3 * BF16_TOLERANCE;
    }

    /**
     * The tolerance of an agreement between two computations that fp32 gets within {@code fp32}:
     * that, or in bf16 the bf16 tolerance (the two paths store, and so round, different tensors).
     */
    protected static double agreement(double fp32) {
        return precision == Precision.FP32 ? fp32 : BF16_TOLERANCE;
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
