package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.method.common.mixture.GaussianMixture;
import org.junit.jupiter.api.Test;

/** The grouped configuration: the §8.4 defaults, group-wise changes, validation. */
class StarPromptConfigTest {
    @Test
    void defaultsFollowTheSpec() {
        StarPromptConfig c = StarPromptConfig.defaults();
        assertEquals(FirstStageConfig.defaults(), c.stage1());
        assertEquals(5, c.stage1().epochs());
        assertEquals(1, c.stage1().monteCarlo());
        assertEquals(new StarPromptConfig.Stage2(5, 1e-3f, 10f, true, true, StarPromptConfig.PromptMode.RESIDUAL, 5),
                c.stage2());
        assertEquals(new StarPromptConfig.Alignment(true, 1e-3f, 10, 5, 256, 128, 0.1f), c.alignment());
        assertEquals(new StarPromptConfig.Replay(StarPromptConfig.ReplayModel.MIXTURE, GaussianMixture.Density.REFERENCE,
                5, 500, 1), c.replay());
        assertEquals(128, c.batchSize());
        assertEquals(128, c.evalBatchSize());
        assertEquals(10 + 5 * 3, c.alignEpochsOfTask(3));
    }

    @Test
    void cropDiseaseBestChangesOnlyWhatItsYamlSets() {
        StarPromptConfig best = StarPromptConfig.cropDiseaseBest(), d = StarPromptConfig.defaults();
        assertEquals(d.stage1().toBuilder().alignLr(0.01f).mogIterations(500).monteCarlo(2).build(), best.stage1());
        assertEquals(d.stage2().toBuilder().lambdaOrtho(5f).build(), best.stage2());
        assertEquals(d.replay().toBuilder().monteCarlo(5).build(), best.replay());
        assertEquals(d.alignment(), best.alignment());
    }

    @Test
    void builderChangesOneGroupAndKeepsTheRest() {
        StarPromptConfig c = StarPromptConfig.builder().epochs(3).batchSize(16)
                .alignment(a -> a.enabled(false).epochs(2)).replay(r -> r.density(GaussianMixture.Density.TEXTBOOK))
                .build();
        assertEquals(3, c.stage1().epochs());
        assertEquals(3, c.stage2().epochs());
        assertEquals(16, c.batchSize());
        assertEquals(2, c.alignment().epochs());
        assertTrue(!c.alignment().enabled());
        assertEquals(GaussianMixture.Density.TEXTBOOK, c.replay().density());
        StarPromptConfig again = c.toBuilder().stage2(s -> s.lr(0.5f)).build();
        assertEquals(0.5f, again.stage2().lr());
        assertEquals(c.stage1(), again.stage1());
        assertEquals(c.alignment(), again.alignment());
        assertEquals(c.replay(), again.replay());
        assertEquals(c, again.toBuilder().stage2(s -> s.lr(c.stage2().lr())).build());
    }

    @Test
    void invalidValuesAreRefusedNamingTheSetting() {
        var b = StarPromptConfig.builder();
        assertThrows(IllegalArgumentException.class, () -> b.batchSize(0).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StarPromptConfig.builder().replay(r -> r.monteCarlo(0)));
        assertTrue(e.getMessage().contains("MC2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> StarPromptConfig.builder().stage2(s -> s.lr(Float.NaN)));
        assertThrows(IllegalArgumentException.class,
                () -> StarPromptConfig.builder().alignment(a -> a.logitTemperature(0f)));
        assertThrows(IllegalArgumentException.class, () -> StarPromptConfig.builder().stage1(s -> s.monteCarlo(0)));
    }
}
