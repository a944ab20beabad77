package io.starprompt.method.baselines;

import io.starprompt.cl.TaskData;
import io.starprompt.method.common.Seeds;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * One epoch of mini-batches over the union of all tasks' training sets, for joint training.
 * {@link TaskData} serves one task at a time, so every task is read in small shuffled chunks
 * (batch / T images, its own augmentation and shuffle) and each batch is filled from chunks of
 * tasks drawn at random among those with data left; batches therefore mix the tasks, and only
 * the last one may be short. Memory stays at about one batch whatever the data size.
 * Deterministic in (seed, epoch).
 */
final class JointBatches implements Iterable<TaskData.Batch> {
    private final TaskData data;
    private final int batchSize;
    private final long seed;
    private final int epoch;

    JointBatches(TaskData data, int batchSize, long seed, int epoch) {
        if (batchSize < 1) throw new IllegalArgumentException("joint batches: batch size " + batchSize);
        this.data = data;
        this.batchSize = batchSize;
        this.seed = seed;
        this.epoch = epoch;
    }

    @Override
    public Iterator<TaskData.Batch> iterator() {
        int chunk = Math.max(1, batchSize / data.tasks());
        List<Iterator<TaskData.Batch>> sources = new ArrayList<>();
        for (int t = 0; t < data.tasks(); t++) sources.add(data.trainBatches(t, chunk, Seeds.mix(seed, t, epoch)).iterator());
        return new Mixer(sources, new SplittableRandom(Seeds.mix(seed ^ 0x1014L, epoch, 0)));
    }

    /** Fills batches from chunks of randomly drawn sources. */
    private final class Mixer implements Iterator<TaskData.Batch> {
        private final List<Iterator<TaskData.Batch>> sources;
        private final SplittableRandom rnd;
        private final Deque<TaskData.Batch> pending = new ArrayDeque<>();
        private int pendingSamples;

        Mixer(List<Iterator<TaskData.Batch>> sources, SplittableRandom rnd) {
            this.sources = sources;
            this.rnd = rnd;
        }

        @Override
        public boolean hasNext() {
            fill();
            return pendingSamples > 0;
        }

        @Override
        public TaskData.Batch next() {
            if (!hasNext()) throw new NoSuchElementException();
            return take(Math.min(batchSize, pendingSamples));
        }

        /** Draws chunks until a full batch is pending or every source is exhausted. */
        private void fill() {
            while (pendingSamples < batchSize && !sources.isEmpty()) {
                int i = rnd.nextInt(sources.size());
                if (sources.get(i).hasNext()) {
                    TaskData.Batch b = sources.get(i).next();
                    pending.addLast(b);
                    pendingSamples += b.size();
                } else {
                    sources.remove(i);
                }
            }
        }

        /** The first n pending samples as one batch; the rest of a split chunk stays pending. */
        private TaskData.Batch take(int n) {
            List<TaskData.Batch> parts = new ArrayList<>();
            int taken = 0;
            while (taken < n) {
                TaskData.Batch b = pending.removeFirst();
                int use = Math.min(b.size(), n - taken);
                if (use < b.size()) pending.addFirst(slice(b, use, b.size()));
                parts.add(use < b.size() ? slice(b, 0, use) : b);
                taken += use;
            }
            pendingSamples -= n;
            return concat(parts, n);
        }
    }

    /** Samples [from, to) of a batch. */
    private static TaskData.Batch slice(TaskData.Batch b, int from, int to) {
        int vit = b.vitImages() == null ? 0 : b.vitImages().length / b.size(), clip = b.clipImages().length / b.size();
        return new TaskData.Batch(b.vitImages() == null ? null : Arrays.copyOfRange(b.vitImages(), from * vit, to * vit),
                Arrays.copyOfRange(b.clipImages(), from * clip, to * clip), Arrays.copyOfRange(b.labels(), from, to));
    }

    private static TaskData.Batch concat(List<TaskData.Batch> parts, int n) {
        if (parts.size() == 1) return parts.get(0);
        TaskData.Batch first = parts.get(0);
        int vit = first.vitImages() == null ? 0 : first.vitImages().length / first.size();
        int clip = first.clipImages().length / first.size();
        float[] v = vit == 0 ? null : new float[n * vit], c = new float[n * clip];
        int[] labels = new int[n];
        int off = 0;
        for (TaskData.Batch p : parts) {
            if (v != null) System.arraycopy(p.vitImages(), 0, v, off * vit, p.size() * vit);
            System.arraycopy(p.clipImages(), 0, c, off * clip, p.size() * clip);
            System.arraycopy(p.labels(), 0, labels, off, p.size());
            off += p.size();
        }
        return new TaskData.Batch(v, c, labels);
    }
}
