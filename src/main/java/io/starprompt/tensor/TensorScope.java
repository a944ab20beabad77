package io.starprompt.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Frees, when closed, every tensor allocated on this thread while it was the innermost open
 * scope (a training step, say), except those handed to the enclosing scope with
 * {@link #retain}. Scopes nest and are thread-confined.
 *
 * <pre>{@code
 * try (TensorScope step = TensorScope.open()) {
 *     Tensor logits = model.forward(x);   // freed at the end of the block
 *     Tensor keep = step.retain(backend.zeros(4));  // survives into the enclosing scope
 * }
 * }</pre>
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<Deque<TensorScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Set<Tensor> owned = new LinkedHashSet<>();
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private TensorScope() {}

    /**
     * Opens a scope that becomes the innermost one of this thread.
     *
     * @return the scope; close it
     */
    public static TensorScope open() {
        TensorScope s = new TensorScope();
        STACK.get().push(s);
        return s;
    }

    static void register(Tensor t) {
        TensorScope s = STACK.get().peek();
        if (s != null) s.owned.add(t);
    }

    static void unregister(Tensor t) {
        for (TensorScope s : STACK.get()) {
            if (s.owned.remove(t)) return;
        }
    }

    /**
     * Takes t out of whatever scope of this thread would free it: for long-lived state (model
     * weights, trainable parameters, optimiser moments) that its owner closes itself.
     *
     * @param t the tensor
     * @return t
     */
    public static Tensor detach(Tensor t) {
        unregister(t);
        return t;
    }

    /**
     * Moves t to the enclosing scope (or to no scope: the caller then closes it).
     *
     * @param t the tensor
     * @return t
     */
    public Tensor retain(Tensor t) {
        if (!owned.remove(t)) {
            throw new IllegalArgumentException("retain: " + t + " was not allocated in this scope");
        }
        Deque<TensorScope> stack = STACK.get();
        boolean passed = false;
        for (TensorScope s : stack) {
            if (passed) {
                s.owned.add(t);
                break;
            }
            passed = s == this;
        }
        return t;
    }

    /**
     * Number of live tensors this scope will free.
     *
     * @return the number of tensors
     */
    public int size() {
        return owned.size();
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a TensorScope must be closed on the thread that opened it");
        }
        Deque<TensorScope> stack = STACK.get();
        if (stack.peek() != this) throw new IllegalStateException("TensorScopes must be closed innermost first");
        stack.pop();
        closed = true;
        List<Tensor> toFree = new ArrayList<>(owned);
        owned.clear();
        for (Tensor t : toFree) t.close();
    }
}
