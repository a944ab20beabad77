package io.starprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The shared record builder: starts from a record, sets by name, validates through the constructor. */
class RecordBuilderTest {
    /** A record with a check, as the configuration records have. */
    public record Pair(int count, String name) {
        /** Refuses a negative count. */
        public Pair {
            if (count < 0) throw new IllegalArgumentException("count must be ≥ 0");
        }
    }

    /** A record with a record component, as {@code StarPromptConfig} holds its groups. */
    public record Outer(Pair pair, float rate) {}

    static final class Builder extends RecordBuilder<Pair, Builder> {
        Builder(Pair p) {
            super(p);
        }

        Builder count(int v) {
            return set("count", v);
        }

        Builder misspelt(int v) {
            return set("cuont", v);
        }

        int currentCount() {
            return get("count");
        }
    }

    @Test
    void startsFromTheRecordAndChangesOnlyWhatIsSet() {
        Pair p = new Pair(3, "a");
        assertEquals(p, new Builder(p).build());
        Builder b = new Builder(p).count(7);
        assertEquals(7, b.currentCount());
        assertEquals(new Pair(7, "a"), b.build());
    }

    @Test
    void theRecordsOwnCheckRefusesAnInvalidValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Builder(new Pair(1, "a")).count(-1).build());
        assertEquals("count must be ≥ 0", e.getMessage());
    }

    @Test
    void anUnknownComponentIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Builder(new Pair(1, "a")).misspelt(2));
        assertEquals("Pair has no component cuont", e.getMessage());
        Builder b = new Builder(new Pair(1, "a"));
        assertSame(b, b.count(1));
    }

    @Test
    void componentsAreSetByAccessorAndGroupsChangedInPlace() {
        Outer o = new Outer(new Pair(1, "a"), 0.5f);
        assertEquals(new Pair(4, "a"), RecordBuilder.with(o.pair(), Pair::count, 4));
        Outer changed = RecordBuilder.of(o).set(Outer::rate, 2f).change(Outer::pair, p -> p.set(Pair::name, "b"))
                .build();
        assertEquals(new Outer(new Pair(1, "b"), 2f), changed);
        assertEquals(new Outer(new Pair(1, "a"), 0.5f), o);
    }

    @Test
    void aGroupsOwnCheckRefusesItsChange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecordBuilder.of(new Outer(new Pair(1, "a"), 0f)).change(Outer::pair, p -> p.set(Pair::count, -2)));
        assertEquals("count must be ≥ 0", e.getMessage());
    }

    @Test
    void aValueOfAnotherTypeIsRefusedByName() {
        RecordBuilder.Of<Outer> b = RecordBuilder.of(new Outer(new Pair(1, "a"), 0f));
        // A double for a float compiles (the generic type widens to Number) and must be refused here.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.set(Outer::rate, 0.5));
        assertEquals("Outer.rate is a float, got Double 0.5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.set(Outer::rate, null));
        assertEquals("Outer.rate is a float, got null", e.getMessage());
    }

    @Test
    void aLambdaThatIsNotAnAccessorIsRefused() {
        RecordBuilder.Of<Pair> b = RecordBuilder.of(new Pair(1, "a"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.set(p -> p.count() + 1, 3));
        assertEquals("not an accessor of Pair: pass Pair::component", e.getMessage());
    }
}
