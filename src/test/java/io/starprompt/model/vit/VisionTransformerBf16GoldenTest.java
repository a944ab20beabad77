package io.starprompt.model.vit;

import io.starprompt.GoldenTest;
import java.util.stream.Stream;

/**
 * {@link VisionTransformerGoldenTest} with the ViT loaded in bf16 (weights and activations stored
 * in bf16, f32 accumulation, f32 prompts and gradients) against the same float64 goldens, within
 * the bf16 tolerance, on the backends that have the bf16 forms of the tower's ops.
 */
class VisionTransformerBf16GoldenTest extends VisionTransformerGoldenTest implements GoldenTest.Bf16 {
    static Stream<String> backends() {
        return bf16Backends();
    }
}
