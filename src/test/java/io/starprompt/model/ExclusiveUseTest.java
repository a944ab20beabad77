package io.starprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The one-thread rule: re-entry on the holding thread, refusal on any other, release on exit. */
class ExclusiveUseTest {
    @Test
    void anotherThreadIsRefusedByNameWhileOneIsInside() throws InterruptedException {
        ExclusiveUse use = new ExclusiveUse("TestModel");
        try (HeldModel held = HeldModel.hold(use)) {
            assertTrue(use.inUse());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> use.call("encode", () -> 1));
            assertTrue(e.getMessage().startsWith("encode: this TestModel is in use by thread 'holder'"), e.getMessage());
        }
        assertFalse(use.inUse());
        assertEquals(2, use.call("encode", () -> 2), "free again once the holder left");
    }

    @Test
    void theHoldingThreadMayReenter() {
        ExclusiveUse use = new ExclusiveUse("TestModel");
        int v = use.call("outer", () -> use.call("inner", () -> {
            assertTrue(use.inUse());
            return 7;
        }));
        assertEquals(7, v);
        assertFalse(use.inUse(), "released after the outer call");
    }

    @Test
    void anExceptionReleasesTheModel() {
        ExclusiveUse use = new ExclusiveUse("TestModel");
        assertThrows(IllegalArgumentException.class, () -> use.run("forward", () -> {
            throw new IllegalArgumentException("bad input");
        }));
        assertFalse(use.inUse());
    }

    @Test
    void exitWithoutEnterIsRefused() throws InterruptedException {
        ExclusiveUse use = new ExclusiveUse("TestModel");
        assertThrows(IllegalStateException.class, use::exit);
        use.enter("forward");
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                use.exit();
            } catch (Throwable e) {
                other.set(e);
            }
        });
        t.start();
        t.join();
        assertTrue(other.get() instanceof IllegalStateException, String.valueOf(other.get()));
        use.exit();
        assertFalse(use.inUse());
    }
}
