package io.starprompt.method.common;

/**
 * Derives independent seeds from a run seed and small integers (task, epoch, class, purpose).
 * Every random choice of a method is drawn from such a derived seed rather than from a
 * generator that lives across tasks, so the state after a task never includes a random
 * generator: a resumed run re-derives the same seeds from (seed, task, …).
 */
public final class Seeds {
    private Seeds() {}

    /**
     * A well-mixed 64-bit seed from (a, b, c): a weighted sum finished with the SplitMix64 finaliser.
     *
     * @param a first input
     * @param b second input
     * @param c third input
     * @return the seed
     */
    public static long mix(long a, long b, long c) {
        long h = a * 0x9E3779B97F4A7C15L + b * 0xC2B2AE3D27D4EB4FL + c * 0x165667B19E3779F9L;
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 29;
        h *= 0x94D049BB133111EBL;
        return h ^ (h >>> 32);
    }
}
