package io.starprompt.data.sets;

/**
 * One thing wrong with a dataset: where (a file, a folder, a {@code file:line}) and what.
 *
 * @param where the file, folder or line at fault; null when the problem has no single place
 * @param what what is wrong there
 */
public record Problem(String where, String what) {
    /**
     * Validates that there is a description.
     *
     * @param where the file, folder, or entry at fault
     * @param what what is wrong
     */
    public Problem {
        if (what == null || what.isEmpty()) throw new IllegalArgumentException("problem: no description");
    }

    /** {@code where: what}, or just {@code what} without a place. */
    @Override
    public String toString() {
        return where == null ? what : where + ": " + what;
    }
}
