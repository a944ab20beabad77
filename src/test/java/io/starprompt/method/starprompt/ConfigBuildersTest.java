package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.dualprompt.DualPromptConfig;
import io.starprompt.method.starprompt.StarPromptConfig.Alignment;
import io.starprompt.method.starprompt.StarPromptConfig.Replay;
import io.starprompt.method.starprompt.StarPromptConfig.Stage2;
import io.starprompt.util.RecordBuilder;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every component of the configuration groups (STAR-Prompt's, CODA-Prompt's and DualPrompt's) is set through its accessor: setting each component
 * of every group to another value changes that component and no other, and the accessors listed here
 * reach every component that is not a group of its own (a new component must be added here).
 */
class ConfigBuildersTest {
    @Test
    void everyAccessorSetsItsOwnComponentOnly() throws Exception {
        StarPromptConfig d = StarPromptConfig.defaults();
        checkSetters(d.stage1(), FirstStageConfig::epochs, FirstStageConfig::monteCarlo, FirstStageConfig::lr,
                FirstStageConfig::lambdaOrtho, FirstStageConfig::alignLr, FirstStageConfig::alignEpochs,
                FirstStageConfig::samplesPerClass, FirstStageConfig::replayBatch, FirstStageConfig::mogIterations,
                FirstStageConfig::mogComponents);
        checkSetters(d.stage2(), Stage2::epochs, Stage2::lr, Stage2::lambdaOrtho, Stage2::cosineSchedule,
                Stage2::confidenceModulation, Stage2::promptMode, Stage2::prefixLength);
        checkSetters(d.alignment(), Alignment::enabled, Alignment::lr, Alignment::epochs, Alignment::epochsPerTask,
                Alignment::samplesPerClass, Alignment::batchSize, Alignment::logitTemperature);
        checkSetters(d.replay(), Replay::model, Replay::density, Replay::components, Replay::iterations,
                Replay::monteCarlo);
        checkSetters(d, StarPromptConfig::batchSize, StarPromptConfig::evalBatchSize, StarPromptConfig::precision);
        checkSetters(CodaPromptConfig.defaults(), CodaPromptConfig::epochs, CodaPromptConfig::batchSize,
                CodaPromptConfig::evalBatchSize, CodaPromptConfig::lr, CodaPromptConfig::components,
                CodaPromptConfig::promptLength, CodaPromptConfig::promptedLayers, CodaPromptConfig::mu,
                CodaPromptConfig::cosineSchedule);
        checkSetters(DualPromptConfig.defaults(), DualPromptConfig::epochs, DualPromptConfig::batchSize,
                DualPromptConfig::evalBatchSize, DualPromptConfig::lr, DualPromptConfig::gLayers, DualPromptConfig::eLayers,
                DualPromptConfig::gLength, DualPromptConfig::eLength, DualPromptConfig::poolSize,
                DualPromptConfig::pullWeight, DualPromptConfig::batchwisePrompt, DualPromptConfig::clipNorm);
    }

    @SafeVarargs
    private static <R extends Record> void checkSetters(R group, RecordBuilder.Component<R, ?>... accessors)
            throws Exception {
        Set<String> reached = new TreeSet<>(), settable = new TreeSet<>();
        for (RecordComponent k : group.getClass().getRecordComponents()) {
            if (another(k.getAccessor().invoke(group)) != null) settable.add(k.getName());
        }
        for (RecordBuilder.Component<R, ?> c : accessors) {
            Object other = another(c.apply(group));
            R changed = with(group, c, other);
            List<String> differing = new ArrayList<>();
            for (RecordComponent k : group.getClass().getRecordComponents()) {
                if (!k.getAccessor().invoke(group).equals(k.getAccessor().invoke(changed))) differing.add(k.getName());
            }
            assertEquals(1, differing.size(), "changed by one setting: " + differing);
            assertEquals(other, c.apply(changed), differing.get(0));
            assertNotEquals(group, changed, differing.get(0));
            reached.add(differing.get(0));
        }
        assertEquals(settable, reached, group.getClass().getSimpleName());
    }

    /** The value comes from {@link #another} on the component's own value, so it has the component's type. */
    @SuppressWarnings("unchecked")
    private static <R extends Record> R with(R group, RecordBuilder.Component<R, ?> component, Object value) {
        return RecordBuilder.with(group, (RecordBuilder.Component<R, Object>) component, value);
    }

    /** A valid value other than v, or null for a component that is a group of its own. */
    private static Object another(Object v) {
        if (v instanceof Integer i) return i + 2; // + 2 keeps a parity some settings require
        if (v instanceof Float f) return f + 0.5f;
        if (v instanceof Boolean b) return !b;
        if (v instanceof Enum<?> e) {
            Object[] all = e.getDeclaringClass().getEnumConstants();
            return all[(e.ordinal() + 1) % all.length];
        }
        return null;
    }
}
