package io.starprompt.data.sets;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the loaders report what is wrong with a dataset's index files. Strict: the first problem
 * is thrown (opening a dataset for training); collecting: every problem is kept and the offending
 * entry skipped, so that {@link DatasetCheck} can list them all at once.
 */
final class Problems {
    private final boolean strict;
    private final List<Problem> found = new ArrayList<>();

    private Problems(boolean strict) {
        this.strict = strict;
    }

    /** Throws an IllegalArgumentException for the first problem. */
    static Problems strict() {
        return new Problems(true);
    }

    /** Collects every problem. */
    static Problems collecting() {
        return new Problems(false);
    }

    /**
     * Reports a problem; the caller skips the entry at fault when this returns.
     *
     * @throws IllegalArgumentException in strict mode, with {@code where: what} as the message
     */
    void add(Object where, String what) {
        Problem p = new Problem(where == null ? null : where.toString(), what);
        if (strict) throw new IllegalArgumentException(p.toString());
        found.add(p);
    }

    /** The problems collected so far, in the order found. */
    List<Problem> list() {
        return List.copyOf(found);
    }
}
