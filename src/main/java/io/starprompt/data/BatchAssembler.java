package io.starprompt.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decodes and transforms a list of images on a fixed thread pool into one float batch
 * {@code [B][3][H][W]}.
 *
 * <p>Determinism: sample i always lands at position i, and its random transforms use a generator
 * split off a {@link SplittableRandom}{@code (seed)} in index order before any work is handed
 * out, so the batch is the same for a given seed whatever the number of threads or their timing.
 *
 * <p>Close the assembler to stop its threads (they are daemon threads, so a forgotten one does
 * not keep the JVM alive).
 */
public final class BatchAssembler implements AutoCloseable {
    private static final AtomicInteger POOL_IDS = new AtomicInteger();

    private final ImagePipeline pipeline;
    private final int height;
    private final int width;
    private final ExecutorService pool;

    /**
     * An assembler whose pipeline must produce {@code 3 × height × width} values per image.
     *
     * @param pipeline the transforms and normalisation of every image
     * @param height the output height
     * @param width the output width
     * @param threads decoding threads
     * @throws IllegalArgumentException for non-positive sizes or thread count
     */
    public BatchAssembler(ImagePipeline pipeline, int height, int width, int threads) {
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("output size must be positive, got " + height + "x" + width);
        if (threads <= 0) throw new IllegalArgumentException("thread count must be positive, got " + threads);
        this.pipeline = pipeline;
        this.height = height;
        this.width = width;
        this.pool = Executors.newFixedThreadPool(threads, daemonThreads());
    }

    private static ThreadFactory daemonThreads() {
        int pool = POOL_IDS.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "starprompt-images-" + pool + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Values per image: {@code 3 · height · width}.
     *
     * @return the values per image
     */
    public int sampleSize() {
        return 3 * height * width;
    }

    /**
     * Loads, transforms and stacks the images: sample i occupies
     * {@code [i·sampleSize(), (i+1)·sampleSize())}.
     *
     * @param sources the images
     * @param seed the augmentation seed (sample i draws from a generator derived from it and i)
     * @return the batch, planar
     * @throws IllegalArgumentException from the first failing sample in index order (e.g. a
     *     corrupt file, named in the message), or if a sample has the wrong size
     */
    public float[] assemble(List<? extends ImageSource> sources, long seed) {
        int n = sources.size();
        int size = sampleSize();
        float[] batch = new float[Math.multiplyExact(n, size)];
        List<SplittableRandom> rngs = splitGenerators(seed, n);
        List<Future<?>> futures = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int index = i;
            futures.add(pool.submit(() -> fill(batch, index, sources.get(index), rngs.get(index))));
        }
        awaitInOrder(futures);
        return batch;
    }

    /** One generator per sample, split sequentially so each depends only on (seed, index). */
    private static List<SplittableRandom> splitGenerators(long seed, int n) {
        SplittableRandom root = new SplittableRandom(seed);
        List<SplittableRandom> rngs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) rngs.add(root.split());
        return rngs;
    }

    /** Runs the pipeline for sample {@code index} and copies it into its slot (slots never overlap). */
    private void fill(float[] batch, int index, ImageSource source, SplittableRandom rng) {
        float[] sample = pipeline.apply(source.load(), rng);
        if (sample.length != sampleSize()) {
            throw new IllegalArgumentException("sample " + index + ": pipeline produced " + sample.length
                    + " values, expected 3x" + height + "x" + width + " = " + sampleSize());
        }
        System.arraycopy(sample, 0, batch, index * sampleSize(), sample.length);
    }

    /** Waits for every sample; the first failure in index order is rethrown, the rest cancelled. */
    private static void awaitInOrder(List<Future<?>> futures) {
        for (int i = 0; i < futures.size(); i++) {
            try {
                futures.get(i).get();
            } catch (ExecutionException e) {
                for (Future<?> f : futures) f.cancel(true);
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException re) throw re;
                if (cause instanceof Error err) throw err;
                throw new IllegalStateException("sample " + i + " failed", cause);
            } catch (InterruptedException e) {
                for (Future<?> f : futures) f.cancel(true);
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while assembling a batch", e);
            } catch (CancellationException e) {
                throw new IllegalStateException("sample " + i + " was cancelled (assembler closed?)", e);
            }
        }
    }

    /** Stops the worker threads; batches in progress fail. */
    @Override
    public void close() {
        pool.shutdownNow();
    }
}
