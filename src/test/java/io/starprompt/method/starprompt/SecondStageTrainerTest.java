package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The per-epoch cosine schedule of stage 2 (ALGORITHM.md §4.7, §11.3). */
class SecondStageTrainerTest {
    @Test
    void cosineScheduleValues() {
        float lr = 1e-3f;
        int k = 5;
        assertEquals(lr, SecondStageTrainer.cosineLr(lr, 0, k), 0);
        // e = K − 1: cos(99π/200) ≈ 0.015707
        assertEquals(lr * 0.015707317, SecondStageTrainer.cosineLr(lr, k - 1, k), 1e-9);
        // e = 2 of 5: cos(99π·2 / 800)
        assertEquals(lr * Math.cos(99 * Math.PI * 2 / 800), SecondStageTrainer.cosineLr(lr, 2, k), 1e-9);
        assertEquals(9.2537527e-4, SecondStageTrainer.cosineLr(lr, 1, k), 1e-9);
        for (int e = 1; e < k; e++) {
            assertTrue(SecondStageTrainer.cosineLr(lr, e, k) < SecondStageTrainer.cosineLr(lr, e - 1, k));
            assertTrue(SecondStageTrainer.cosineLr(lr, e, k) > 0);
        }
        // 50 epochs (CUB, Cars): last ≈ 0.0157·lr as well
        assertEquals(0.015707317, SecondStageTrainer.cosineLr(1f, 49, 50), 1e-6);
        // K = 1: constant
        assertEquals(lr, SecondStageTrainer.cosineLr(lr, 0, 1), 0);
    }
}
