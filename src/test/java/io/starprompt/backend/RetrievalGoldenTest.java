package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import io.starprompt.GoldenSet;
import io.starprompt.GoldenTest;
import io.starprompt.TestBackends;
import io.starprompt.method.common.OrthogonalityLoss;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The retrieval kernel and the ortho loss against the {@code ret.*} tensors of the golden set. */
class RetrievalGoldenTest extends GoldenTest {

    static Stream<String> targets() {
        return Stream.of("reference", "cpu", "cpu:naive", "cuda", "cuda:naive");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void retrievalMatchesGolden(String target) {
        try (Backend be = TestBackends.open(target); TensorScope scope = TensorScope.open()) {
            check(be);
        }
    }

    private void check(Backend be) {
        long[] qShape = golden.shape("ret.q"), aShape = golden.shape("ret.a"), pShape = golden.shape("ret.pv");
        int b = (int) qShape[0], d = (int) qShape[1], classes = (int) aShape[0], dp = (int) pShape[1];
        int past = golden.metaInt("frozen_past_classes");
        RetrievalInputs in = new RetrievalInputs(be.fromArray(golden.get("ret.q"), b, d),
                be.fromArray(golden.get("ret.keys"), classes, d), be.fromArray(golden.get("ret.a"), 1, classes, d),
                be.fromArray(golden.get("ret.pv"), 1, classes, dp), classes, true);
        Tensor sims = be.empty(1, b, classes), sel = be.empty(DType.I32, 1, b), sp = be.empty(1, b, dp);
        be.retrieval(in, sims, sel, sp);

        float[] s = be.toFloatArray(sims);
        int[] chosen = be.toIntArray(sel);
        GoldenSet.assertForward("sims", golden.get("ret.sims"), s);
        GoldenSet.assertForward("masked sims", golden.get("ret.masked_sims"), masked(s, chosen, b, classes));
        GoldenSet.assertForward("super prompt", golden.get("ret.super_prompt"), be.toFloatArray(sp));
        assertEquals(listOfInts(golden.meta(), "ret.selected"), toList(chosen), "selected classes");

        Tensor dA = be.empty(1, classes, d), dP = be.empty(1, classes, dp);
        be.retrievalBackward(in, sims, sel, be.fromArray(golden.get("ret.G"), 1, b, dp), past, dA, dP);
        GoldenSet.assertGradient("grad A", golden.get("ret.grad_a"), be.toFloatArray(dA));
        GoldenSet.assertGradient("grad P", golden.get("ret.grad_pv"), be.toFloatArray(dP));
    }

    @Test
    void orthogonalityLossMatchesGolden() {
        long[] pShape = golden.shape("ret.pv");
        int classes = (int) pShape[0], dp = (int) pShape[1];
        float[] grad = new float[classes * dp];
        double loss = OrthogonalityLoss.secondStage(golden.get("ret.pv"), classes, dp, classes,
                golden.metaInt("frozen_past_classes"), grad);
        GoldenSet.assertForward("ortho loss", golden.get("ret.ortho_loss"), new float[] {(float) loss});
        GoldenSet.assertGradient("ortho grad", golden.get("ret.grad_pv_ortho"), grad);
    }

    private static float[] masked(float[] s, int[] sel, int b, int classes) {
        float[] m = new float[s.length];
        for (int i = 0; i < b; i++) m[i * classes + sel[i]] = s[i * classes + sel[i]];
        return m;
    }

    private static List<Integer> toList(int[] v) {
        return java.util.Arrays.stream(v).boxed().toList();
    }

    private static List<Integer> listOfInts(Object meta, String key) {
        List<?> raw = (List<?>) io.starprompt.util.Json.path(meta, key);
        return raw.stream().map(o -> ((Double) o).intValue()).toList();
    }
}
