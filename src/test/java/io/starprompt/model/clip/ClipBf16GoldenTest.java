package io.starprompt.model.clip;

import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link ClipGoldenTest} (both towers, the first-stage keys, loss and context gradient) with CLIP
 * loaded in bf16 against the same float64 goldens, within the bf16 tolerance, on the backends that
 * have the bf16 forms of the towers' ops.
 */
class ClipBf16GoldenTest extends ClipGoldenTest {
    @BeforeAll
    static void bf16() {
        useBf16();
    }

    static Stream<String> backends() {
        return Stream.of("reference", "cpu");
    }
}
