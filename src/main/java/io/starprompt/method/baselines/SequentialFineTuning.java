package io.starprompt.method.baselines;

import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.common.Seeds;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;

/**
 * The lower bound: sequential fine-tuning of STAR-Prompt's trainable second-stage parameters
 * (prompts A and P, head W and b). Task t trains E_S2 epochs on its own data with the
 * cross-entropy over every class seen so far, with the stage-2 optimiser and schedule, and
 * nothing against forgetting: no masking of past logits, no frozen rows, no orthogonality loss,
 * no replay, no head alignment. The head learns that past classes no longer occur, so accuracy
 * on earlier tasks collapses: the forgetting STAR-Prompt's measures exist to prevent.
 * Evaluation is class-IL over the classes seen so far, like STAR-Prompt's.
 */
public final class SequentialFineTuning extends PromptedBaseline {
    /** {@value #NAME}. */
    public static final String NAME = "sequential-fine-tuning";

    /**
     * @param clip        frozen CLIP (borrowed): queries and the zero-shot keys
     * @param vit         frozen ViT (borrowed)
     * @param zeroShotIds per class the ids of its zero-shot prompt ({@link ZeroShotClip#promptIds})
     * @param cfg         the stage-2 settings, batch sizes and prompt mode used (a STAR-Prompt config)
     * @param seed        the run seed
     */
    public SequentialFineTuning(Clip clip, VisionTransformer vit, int[][] zeroShotIds, StarPromptConfig cfg, long seed) {
        super(NAME, clip, vit, zeroShotIds, cfg, seed);
    }

    @Override
    int trainedClasses(TaskSplit split, int t) {
        return split.seen(t);
    }

    /** The task's augmented training batches, shuffled as STAR-Prompt's stage 2 shuffles them. */
    @Override
    Iterable<TaskData.Batch> batches(TaskData data, int t, int e) {
        return data.trainBatches(t, cfg.batchSize(), Seeds.mix(seed, t, e));
    }
}
