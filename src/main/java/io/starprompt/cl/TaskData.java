package io.starprompt.cl;

import io.starprompt.cl.TaskSplit;
import java.util.List;

/**
 * The images of a class-incremental benchmark as STAR-Prompt consumes them (ALGORITHM.md §2.1, §2.2, §7).
 * Labels are global and already permuted (new labels); task t holds the contiguous labels
 * [C_p(t), C_s(t)). All images are float arrays laid out [B][3][H][W].
 *
 * <p>Three views, all produced by the data layer (which also does the §2.1 renormalisation):
 * <ul>
 *   <li>{@link #trainBatches}: the training set of a task with the dataset's <em>augmenting</em>
 *       transform, shuffled per call by the seed; each batch carries the ViT input (dataset
 *       normalisation) and the CLIP input of the same augmented image (re-normalised to CLIP
 *       statistics). Used for stage-2 training and the stage-2 statistics passes.
 *   <li>{@link #testBatches}: a task's test set with the test transform, both inputs, fixed order.
 *   <li>{@link #clipBatches}: un-augmented {@code clip_preprocess} images (CLIP input only, ViT
 *       input null), fixed order: stage-1 training/statistics (TRAIN) and the CLIP-only baselines
 *       (TEST).
 * </ul>
 */
public interface TaskData {
    /** Which part of a task's data. */
    enum Split {
        /** The training set. */
        TRAIN,
        /** The test set. */
        TEST
    }

    /**
     * One batch: ViT input [B,3,H,W] (null in {@link #clipBatches}), CLIP input [B,3,S,S], labels [B].
     */
    record Batch(float[] vitImages, float[] clipImages, int[] labels) {
        /**
         * Requires labels and CLIP images.
         *
         * @param vitImages ViT input [B, 3, H, W], or null for CLIP-only batches
         * @param clipImages CLIP input [B, 3, S, S]
         * @param labels the labels [B] (new labels)
         */
        public Batch {
            if (labels == null || labels.length == 0) throw new IllegalArgumentException("batch: no labels");
            if (clipImages == null) throw new IllegalArgumentException("batch: no CLIP images");
        }

        /**
         * B, the images in the batch.
         *
         * @return B
         */
        public int size() {
            return labels.length;
        }
    }

    /**
     * C, all classes of the benchmark.
     *
     * @return C
     */
    int classes();

    /**
     * T.
     *
     * @return the number of tasks
     */
    int tasks();

    /**
     * The (new) labels of task t, ascending and contiguous.
     *
     * @param t a task index
     * @return its labels
     */
    int[] classesOfTask(int t);

    /**
     * Class names in new-label order (entry i names label i).
     *
     * @return the names, one per label
     */
    List<String> classNames();

    /**
     * Augmented, shuffled training batches of task t (last partial batch kept). Order and
     * augmentation must be a function of (task, batchSize, seed) alone: methods derive the seed
     * from their run seed, and a resumed run relies on getting the same batches again.
     *
     * @param task the task
     * @param batchSize images per batch (the last may have fewer)
     * @param seed shuffling and augmentation seed
     * @return the batches, in training order
     */
    Iterable<Batch> trainBatches(int task, int batchSize, long seed);

    /**
     * Test batches of task t with the test transform (both inputs), fixed order.
     *
     * @param task the task
     * @param batchSize images per batch (the last may have fewer)
     * @return the batches
     */
    Iterable<Batch> testBatches(int task, int batchSize);

    /**
     * Un-augmented clip_preprocess batches of task t (CLIP input only), fixed order.
     *
     * @param task the task
     * @param split its training or its test set
     * @param batchSize images per batch (the last may have fewer)
     * @return the batches
     */
    Iterable<Batch> clipBatches(int task, Split split, int batchSize);

    /**
     * The task split implied by {@link #classesOfTask}; checks that tasks are contiguous and in order.
     *
     * @return the split of the classes into tasks
     */
    default TaskSplit split() {
        int[] cpt = new int[tasks()];
        int next = 0;
        for (int t = 0; t < cpt.length; t++) {
            int[] cls = classesOfTask(t);
            for (int i = 0; i < cls.length; i++) {
                if (cls[i] != next + i) {
                    throw new IllegalStateException("task data: task " + t + " must hold the contiguous labels ["
                            + next + ", " + (next + cls.length) + "), got " + java.util.Arrays.toString(cls));
                }
            }
            next += cls.length;
            cpt[t] = cls.length;
        }
        if (next != classes()) {
            throw new IllegalStateException("task data: tasks cover " + next + " classes, classes() = " + classes());
        }
        return TaskSplit.of(cpt);
    }
}
