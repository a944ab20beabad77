package io.starprompt.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class TensorScopeTest {
    private final Backend cpu = new CpuBackend();

    @Test
    void scopeFreesWhatWasAllocatedInside() {
        Tensor inside;
        Tensor kept;
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope step = TensorScope.open()) {
                inside = cpu.zeros(3);
                kept = step.retain(cpu.fromArray(new float[] {1, 2}, 2));
                assertEquals(1, step.size());
            }
            assertTrue(inside.isClosed());
            assertFalse(kept.isClosed());
            assertArrayEquals(new float[] {1, 2}, cpu.toFloatArray(kept));
            assertEquals(1, outer.size());
        }
        assertTrue(kept.isClosed());
    }

    @Test
    void detachedTensorOutlivesItsScope() {
        Tensor kept;
        try (TensorScope s = TensorScope.open()) {
            kept = TensorScope.detach(cpu.zeros(2));
            assertEquals(0, s.size());
        }
        assertFalse(kept.isClosed());
        kept.close();
        assertTrue(kept.isClosed());
    }

    @Test
    void closingTensorEarlyIsFine() {
        try (TensorScope s = TensorScope.open()) {
            Tensor t = cpu.zeros(2);
            t.close();
            t.close();
            assertEquals(0, s.size());
        }
    }

    @Test
    void scopesCloseInnermostFirst() {
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        outer.close();
    }

    @Test
    void viewsShareMemory() {
        try (TensorScope s = TensorScope.open()) {
            Tensor t = cpu.fromArray(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
            assertArrayEquals(new float[] {3, 4, 5, 6}, cpu.toFloatArray(t.rows(1, 2)));
            assertArrayEquals(new long[] {2, 3}, t.reshape(2, 3).shape());
            assertThrows(IllegalArgumentException.class, () -> t.reshape(4));
            assertThrows(IllegalArgumentException.class, () -> t.rows(2, 2));
        }
    }
}
