package io.starprompt.data.sets;

import java.util.List;
import java.util.SplittableRandom;

/** Seeded shuffling shared by the training order and the stratified split. */
final class Shuffle {
    private Shuffle() {}

    /** Fisher–Yates in place. */
    static <T> void shuffle(List<T> list, SplittableRandom rnd) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }

    /**
     * A well-spread 64-bit seed from three values, so that nearby inputs (task 1 and 2, seed 5 and
     * 6) give unrelated generators.
     */
    static long mix(long a, long b, long c) {
        long h = a * 0x9E3779B97F4A7C15L ^ Long.rotateLeft(b * 0xC2B2AE3D27D4EB4FL, 21)
                ^ Long.rotateLeft(c * 0x165667B19E3779F9L, 42);
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 29);
    }
}
