package io.starprompt.model.vit;

import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link VisionTransformerGoldenTest} with the ViT loaded in bf16 (weights and activations stored
 * in bf16, f32 accumulation, f32 prompts and gradients) against the same float64 goldens, within
 * the bf16 tolerance, on the backends that have the bf16 forms of the tower's ops.
 */
class VisionTransformerBf16GoldenTest extends VisionTransformerGoldenTest {
    @BeforeAll
    static void bf16() {
        useBf16();
    }

    static Stream<String> backends() {
        return Stream.of("reference", "cpu");
    }
}
