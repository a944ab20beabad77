package io.starprompt.model;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The one-thread-at-a-time rule of a model, enforced: a call entered from a second thread while
 * another thread is inside the model is refused with an {@link IllegalStateException} naming the
 * model, the call and the thread that holds it, instead of racing on the model's native memory
 * (a {@code close()} during a forward pass would free weights the pass is still reading). The
 * holding thread may re-enter. Nothing blocks or waits: concurrent use is a programming error to
 * report, not to schedule; share a model between threads by handing it over, or use one per thread.
 *
 * <pre>{@code
 * public Tensor encode(Tensor images) {
 *     return use.call("encode", () -> ... the call ...);
 * }
 * }</pre>
 */
public final class ExclusiveUse {
    private final String what;
    private final AtomicReference<Thread> holder = new AtomicReference<>();
    /** Nesting depth of the holder's calls; only the holder reads or writes it. */
    private int depth;

    /**
     * A guard for one model.
     *
     * @param what how messages name the model ("VisionTransformer")
     */
    public ExclusiveUse(String what) {
        this.what = what;
    }

    /**
     * Runs a call of the model on the current thread.
     *
     * @param op   the call, for the message
     * @param body the call
     * @param <T>  its result type
     * @return its result
     * @throws IllegalStateException if another thread is inside the model
     */
    public <T> T call(String op, Supplier<T> body) {
        enter(op);
        try {
            return body.get();
        } finally {
            exit();
        }
    }

    /**
     * As {@link #call}, for a call without result.
     *
     * @param op   the call, for the message
     * @param body the call
     * @throws IllegalStateException if another thread is inside the model
     */
    public void run(String op, Runnable body) {
        enter(op);
        try {
            body.run();
        } finally {
            exit();
        }
    }

    /**
     * Enters a call on the current thread; every enter must be followed by {@link #exit} on the
     * same thread (prefer {@link #call} and {@link #run}, which pair them).
     *
     * @param op the call, for the message
     * @throws IllegalStateException if another thread is inside the model
     */
    public void enter(String op) {
        Thread me = Thread.currentThread();
        if (holder.get() != me && !holder.compareAndSet(null, me)) {
            Thread other = holder.get();
            throw new IllegalStateException(op + ": this " + what + " is in use by thread '"
                    + (other == null ? "?" : other.getName()) + "'; a model serves one thread at a time"
                    + " (use one model per thread, or hand it over between calls)");
        }
        depth++;
    }

    /**
     * Whether some thread is inside the model now.
     *
     * @return whether the model is in use
     */
    public boolean inUse() {
        return holder.get() != null;
    }

    /**
     * Leaves the call entered last by the current thread.
     *
     * @throws IllegalStateException if the current thread is not inside the model
     */
    public void exit() {
        if (holder.get() != Thread.currentThread()) {
            throw new IllegalStateException(what + ": left by a thread that did not enter it");
        }
        if (--depth == 0) holder.set(null);
    }
}
