package io.starprompt.method.baselines;

import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;

/**
 * The upper bound: the same trainable parameters as {@link SequentialFineTuning}, trained once on
 * the union of all tasks' training data with the cross-entropy over all C classes, as if the
 * whole benchmark were one task. The training happens in task 0 ({@link #epochs}(0) = E_S2 epochs
 * over the union, mini-batches mixing the tasks: see {@link JointBatches}); later tasks train
 * nothing ({@link #epochs}(t &gt; 0) = 0).
 *
 * <p><b>The accuracy matrix.</b> The model knows every class from task 0 on, so every evaluation
 * predicts over all C classes: row t holds the accuracy of the one jointly trained model on the
 * test sets of tasks 0…t, i.e. every row is a prefix of the last one. FAA is the joint model's
 * mean per-task accuracy; forgetting and BWT are 0 by construction.
 */
public final class JointTraining extends PromptedBaseline {
    /** {@value #NAME}. */
    public static final String NAME = "joint-training";

    /**
     * As {@link SequentialFineTuning#SequentialFineTuning}.
     *
     * @param clip the frozen CLIP
     * @param vit the frozen ViT
     * @param zeroShotIds the token ids of "a photo of a {name}." for every class
     * @param cfg the run's configuration
     * @param seed the run's seed
     */
    public JointTraining(Clip clip, VisionTransformer vit, int[][] zeroShotIds, StarPromptConfig cfg, long seed) {
        super(NAME, clip, vit, zeroShotIds, cfg, seed);
    }

    /** E_S2 for task 0, which trains on everything; 0 afterwards. */
    @Override
    public int epochs(int task) {
        return task == 0 ? cfg.stage2().epochs() : 0;
    }

    @Override
    int trainedClasses(TaskSplit split, int t) {
        return split.classes();
    }

    @Override
    Iterable<TaskData.Batch> batches(TaskData data, int t, int e) {
        return new JointBatches(data, cfg.batchSize(), seed, e);
    }
}
