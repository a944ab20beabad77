package io.starprompt.model.clip;

import io.starprompt.GoldenTest;
import java.util.stream.Stream;

/**
 * {@link ClipGoldenTest} (both towers, the first-stage keys, loss and context gradient) with CLIP
 * loaded in bf16 against the same float64 goldens, within the bf16 tolerance, on the backends that
 * have the bf16 forms of the towers' ops.
 */
class ClipBf16GoldenTest extends ClipGoldenTest implements GoldenTest.Bf16 {
    static Stream<String> backends() {
        return bf16Backends();
    }
}
