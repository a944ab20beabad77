package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.TinyBackbones;
import io.starprompt.model.Precision;
import org.junit.jupiter.api.Test;

/**
 * STAR-Prompt end to end on the tiny synthetic stream with the frozen towers in bf16 against the
 * same run in fp32 (same seed, same data): the final average accuracy stays within one point.
 */
class StarPromptPrecisionTest {
    private static final long SEED = 7;

    private static AccuracyMatrix run(StarPromptConfig cfg) {
        try (TinyBackbones m = TinyBackbones.open(cfg.precision())) {
            SyntheticTaskData data = SyntheticTaskData.builder().vitImageSize(m.vit.config().imageSize())
                    .clipImageSize(m.clip.config().vision().imageSize()).classes(8).tasks(2).trainPerClass(32)
                    .testPerClass(16).noise(0.4).seed(SEED).build();
            try (StarPrompt sp = StarPrompt.builder().backend(m.be).clip(m.clip).vit(m.vit)
                    .promptIds(TinyBackbones.promptIds(8)).config(cfg).seed(SEED).build()) {
                return sp.run(data).accuracy();
            }
        }
    }

    @Test
    void bf16TowersReachTheFp32AccuracyWithinOnePoint() {
        StarPromptConfig fp32 = SmallConfigs.small(4, 16, 50, 100);
        assertEquals(Precision.FP32, fp32.precision(), "the default precision");
        AccuracyMatrix full = run(fp32);
        AccuracyMatrix half = run(fp32.toBuilder().set(StarPromptConfig::precision, Precision.BF16).build());
        // The run must have learnt something for the comparison to mean anything (chance is 12.5%).
        assertTrue(full.finalAverageAccuracy() > 60, "fp32: " + full);
        assertEquals(full.finalAverageAccuracy(), half.finalAverageAccuracy(), 1.0, "fp32 " + full + " vs bf16 " + half);
    }
}
