package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.method.starprompt.StarPromptConfig.Alignment;
import io.starprompt.method.starprompt.StarPromptConfig.Replay;
import io.starprompt.method.starprompt.StarPromptConfig.Stage2;
import io.starprompt.util.RecordBuilder;
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
        assertEquals(d.stage1().toBuilder().set(FirstStageConfig::alignLr, 0.01f)
                .set(FirstStageConfig::mogIterations, 500).set(FirstStageConfig::monteCarlo, 2).build(), best.stage1());
        assertEquals(RecordBuilder.with(d.stage2(), Stage2::lambdaOrtho, 5f), best.stage2());
        assertEquals(RecordBuilder.with(d.replay(), Replay::monteCarlo, 5), best.replay());
        assertEquals(d.alignment(), best.alignment());
    }

    @Test
    void builderChangesOneGroupAndKeepsTheRest() {
        StarPromptConfig c = StarPromptConfig.builder().epochs(3).set(StarPromptConfig::batchSize, 16)
                .change(StarPromptConfig::alignment, a -> a.set(Alignment::enabled, false).set(Alignment::epochs, 2))
                .change(StarPromptConfig::replay, r -> r.set(Replay::density, GaussianMixture.Density.TEXTBOOK))
                .build();
        assertEquals(3, c.stage1().epochs());
        assertEquals(3, c.stage2().epochs());
        assertEquals(16, c.batchSize());
        assertEquals(2, c.alignment().epochs());
        assertTrue(!c.alignment().enabled());
        assertEquals(GaussianMixture.Density.TEXTBOOK, c.replay().density());
        StarPromptConfig again = c.toBuilder().change(StarPromptConfig::stage2, s -> s.set(Stage2::lr, 0.5f)).build();
        assertEquals(0.5f, again.stage2().lr());
        assertEquals(c.stage1(), again.stage1());
        assertEquals(c.alignment(), again.alignment());
        assertEquals(c.replay(), again.replay());
        assertEquals(c, again.toBuilder().change(StarPromptConfig::stage2, s -> s.set(Stage2::lr, c.stage2().lr()))
                .build());
    }

    @Test
    void invalidValuesAreRefusedNamingTheSetting() {
        var b = StarPromptConfig.builder();
        assertThrows(IllegalArgumentException.class, () -> b.set(StarPromptConfig::batchSize, 0).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StarPromptConfig.builder().change(StarPromptConfig::replay, r -> r.set(Replay::monteCarlo, 0)));
        assertTrue(e.getMessage().contains("MC2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> StarPromptConfig.builder()
                .change(StarPromptConfig::stage2, s -> s.set(Stage2::lr, Float.NaN)));
        assertThrows(IllegalArgumentException.class,
                () -> StarPromptConfig.builder()
                        .change(StarPromptConfig::alignment, a -> a.set(Alignment::logitTemperature, 0f)));
        assertThrows(IllegalArgumentException.class, () -> StarPromptConfig.builder()
                .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::monteCarlo, 0)));
    }
}
