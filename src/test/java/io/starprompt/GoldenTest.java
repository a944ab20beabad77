package io.starprompt;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the test classes that compare against the golden set: opens it once before the class's
 * tests and closes it after them. Test classes run one after another, so the one static field
 * serves each subclass in turn.
 */
public abstract class GoldenTest {
    /** The golden set, open while the subclass's tests run. */
    protected static GoldenSet golden;

    @BeforeAll
    static void openGoldenSet() {
        golden = GoldenSet.open();
    }

    @AfterAll
    static void closeGoldenSet() {
        golden.close();
        golden = null;
    }
}
