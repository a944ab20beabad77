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
}
