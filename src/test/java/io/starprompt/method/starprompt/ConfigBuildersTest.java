package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.dualprompt.DualPromptConfig;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every typed setter of the configuration builders (STAR-Prompt's, and those of the CODA-Prompt and
 * DualPrompt baselines) names its own component: setting each component
 * of every group to another value changes that component and no other. A setter that passes a wrong
 * name to the shared record builder fails here.
 */
class ConfigBuildersTest {
    @Test
    void everySetterChangesItsOwnComponentOnly() throws Exception {
        StarPromptConfig d = StarPromptConfig.defaults();
        for (Record group : List.of(d.stage1(), d.stage2(), d.alignment(), d.replay(), d, CodaPromptConfig.defaults(),
                DualPromptConfig.defaults())) {
            for (RecordComponent c : group.getClass().getRecordComponents()) {
                Object now = c.getAccessor().invoke(group), other = another(now);
                if (other == null) continue; // a whole group: changed through its own builder
                Object builder = group.getClass().getMethod("toBuilder").invoke(group);
                Method setter = builder.getClass().getMethod(c.getName(), c.getType());
                Object changed = builder.getClass().getMethod("build").invoke(setter.invoke(builder, other));
                for (RecordComponent k : group.getClass().getRecordComponents()) {
                    Object expected = k.getName().equals(c.getName()) ? other : k.getAccessor().invoke(group);
                    assertEquals(expected, k.getAccessor().invoke(changed), c.getName() + " → " + k.getName());
                }
                assertNotEquals(group, changed, c.getName());
            }
        }
    }

    /** A valid value other than v, or null for a component that is a group of its own. */
    private static Object another(Object v) {
        if (v instanceof Integer i) return i + 2; // even stays even (CODA-Prompt's prompt length)
        if (v instanceof Float f) return f + 0.5f;
        if (v instanceof Boolean b) return !b;
        if (v instanceof Enum<?> e) {
            Object[] all = e.getDeclaringClass().getEnumConstants();
            return all[(e.ordinal() + 1) % all.length];
        }
        return null;
    }
}
