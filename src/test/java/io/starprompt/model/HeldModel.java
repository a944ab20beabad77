package io.starprompt.model;

import java.util.concurrent.CountDownLatch;

/**
 * Keeps a model busy for a test: a thread named "holder" enters the model's guard, as a thread in
 * the middle of a forward pass would, and stays there until {@link #close}.
 */
public final class HeldModel implements AutoCloseable {
    private final CountDownLatch release = new CountDownLatch(1);
    private final Thread holder;

    private HeldModel(ExclusiveUse use) throws InterruptedException {
        CountDownLatch entered = new CountDownLatch(1);
        holder = new Thread(() -> use.run("forward", () -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }), "holder");
        holder.setDaemon(true);
        holder.start();
        entered.await();
    }

    /**
     * Returns once the holder thread is inside the guard.
     *
     * @param use the model's guard
     * @return the hold, to be closed
     * @throws InterruptedException if the test thread is interrupted while waiting
     */
    public static HeldModel hold(ExclusiveUse use) throws InterruptedException {
        return new HeldModel(use);
    }

    /** Lets the holder leave the model and waits for it. */
    @Override
    public void close() throws InterruptedException {
        release.countDown();
        holder.join();
    }
}
