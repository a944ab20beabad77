package io.starprompt.method.starprompt;

import io.starprompt.GoldenSet;
import io.starprompt.GoldenTest;
import io.starprompt.TestBackends;
import io.starprompt.backend.Backend;
import io.starprompt.method.common.LinearHead;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole second stage against {@code e2e.*}: per-layer retrieval from {@code ret.q} and
 * {@code ret.keys}, the ViT with residual prompts on {@code e2e.x}, the head, cross-entropy over
 * all classes, and the gradients of every A^l, P^l and the head.
 */
class SecondStageGoldenTest extends GoldenTest {

    static Stream<String> backends() {
        return TestBackends.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void endToEndMatchesGolden(String name) throws Exception {
        try (Backend be = TestBackends.open(name); TensorScope scope = TensorScope.open();
                VisionTransformer vit = VisionTransformer.load(be, golden.path("vit.safetensors"),
                        golden.metaInt("vit", "num_heads"))) {
            check(be, vit);
        }
    }

    private void check(Backend be, VisionTransformer vit) {
        int layers = vit.config().depth();
        long[] aShape = golden.shape("e2e.a0"), pShape = golden.shape("e2e.p0"), qShape = golden.shape("ret.q");
        int classes = (int) aShape[0], d = (int) aShape[1], dp = (int) pShape[1], b = (int) qShape[0];
        float[] a = new float[layers * classes * d], p = new float[layers * classes * dp];
        for (int l = 0; l < layers; l++) {
            System.arraycopy(golden.get("e2e.a" + l), 0, a, l * classes * d, classes * d);
            System.arraycopy(golden.get("e2e.p" + l), 0, p, l * classes * dp, classes * dp);
        }
        Prompter prompter = Prompter.of(be, be.fromArray(a, layers, classes, d), be.fromArray(p, layers, classes, dp),
                true);
        LinearHead head = LinearHead.of(be, be.fromArray(golden.get("e2e.head_w"), golden.shape("e2e.head_w")),
                be.fromArray(golden.get("e2e.head_b"), golden.shape("e2e.head_b")));
        int[] labels = toInts(golden.get("e2e.labels"));
        Tensor images = be.fromArray(golden.get("e2e.x"), golden.shape("e2e.x"));
        Tensor queries = be.fromArray(golden.get("ret.q"), b, d);
        Tensor keys = be.fromArray(golden.get("ret.keys"), classes, d);
        SecondStage stage = new SecondStage(vit, prompter, head);
        int past = golden.metaInt("frozen_past_classes");
        try (SecondStage.Result r = stage.lossAndGradients(images, queries, keys, labels,
                new SecondStage.ClassRange(past, classes, 0))) {
            GoldenSet.assertForward("logits", golden.get("e2e.logits"), be.toFloatArray(r.logits()));
            GoldenSet.assertForward("loss", golden.get("e2e.loss"), new float[] {r.loss()});
            GoldenSet.assertGradient("grad head W", golden.get("e2e.grad_head_w"), be.toFloatArray(r.dHeadWeight()));
            GoldenSet.assertGradient("grad head b", golden.get("e2e.grad_head_b"), be.toFloatArray(r.dHeadBias()));
            float[] dA = be.toFloatArray(r.dModulation()), dP = be.toFloatArray(r.dPrompts());
            for (int l = 0; l < layers; l++) {
                GoldenSet.assertGradient("grad A" + l, golden.get("e2e.grad_a" + l),
                        java.util.Arrays.copyOfRange(dA, l * classes * d, (l + 1) * classes * d));
                GoldenSet.assertGradient("grad P" + l, golden.get("e2e.grad_p" + l),
                        java.util.Arrays.copyOfRange(dP, l * classes * dp, (l + 1) * classes * dp));
            }
        } finally {
            prompter.close();
            head.close();
        }
    }

    private static int[] toInts(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.round(v[i]);
        return out;
    }
}
