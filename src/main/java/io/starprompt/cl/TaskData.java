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
        /** Requires labels and CLIP images. */
        public Batch {
            if (labels == null || labels.length == 0) throw new IllegalArgumentException("batch: no labels");
            if (clipImages == null) throw new IllegalArgumentException("batch: no CLIP images");
        }

        /** B, the images in the batch. */
        public int size() {
            return labels.length;
        }
    }

    /** C, all classes of the benchmark. */
    int classes();

    /** T. */
    int tasks();

    /** The (new) labels of task t, ascending and contiguous. */
    int[] classesOfTask(int t);

    /** Class names in new-label order (entry i names label i). */
    List<String> classNames();

    /**
     * Augmented, shuffled training batches of task t (last partial batch kept). Order and
     * augmentation must be a function of (task, batchSize, seed) alone: methods derive the seed
     * from their run seed, and a resumed run relies on getting the same batches again.
     */
    Iterable<Batch> trainBatches(int task, int batchSize, long seed);

    /** Test batches of task t with the test transform (both inputs), fixed order. */
    Iterable<Batch> testBatches(int task, int batchSize);

    /** Un-augmented clip_preprocess batches of task t (CLIP input only), fixed order. */
    Iterable<Batch> clipBatches(int task, Split split, int batchSize);

    /** The task split implied by {@link #classesOfTask}; checks that tasks are contiguous and in order. */
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
