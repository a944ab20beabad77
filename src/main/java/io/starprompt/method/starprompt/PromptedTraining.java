package io.starprompt.method.starprompt;

import io.starprompt.backend.AdamConfig;
import io.starprompt.cl.TaskData;
import io.starprompt.method.TrainingListener.Phase;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.Adam;
import io.starprompt.method.common.ClipQueries;
import io.starprompt.method.common.EpochMeter;
import io.starprompt.method.common.FiniteCheck;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.model.vit.VitConfig;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;

/**
 * Adam training of a prompted classifier's A, P, W and b within one task (ALGORITHM.md §4.7): one fresh
 * optimiser (β 0.9/0.999, ε 1e-8, no weight decay) per task, so rows that get no gradient in
 * the task stay exactly unchanged; per batch the CLIP query of the augmented image, the
 * cross-entropy over the class range, plus weight·L_o2, and one step. STAR-Prompt's stage 2
 * masks the past classes out of the loss; the fine-tuning and joint bounds train on all seen
 * classes with no orthogonality term. Close it to free the optimiser's moments.
 */
public final class PromptedTraining implements AutoCloseable {
    private final Clip clip;
    private final PromptedClassifier model;
    private final Phase phase;
    private final int task;
    private final SecondStage.ClassRange range;
    private final float orthoWeight;
    private final TrainingListener listener;
    private final Adam adam;

    /** The gradients of A, P, W and b in words, for a divergence message. */
    private static final List<String> GRADIENTS = List.of("the gradient of the prompt modulation A",
            "the gradient of the prompts P", "the gradient of the head weight W", "the gradient of the head bias b");

    /**
     * A training session of task {@code task} reporting as {@code phase}; lr is the base
     * learning rate (each epoch passes its own).
     *
     * @param clip the frozen CLIP (borrowed)
     * @param model the model to train (borrowed)
     * @param phase the phase to report
     * @param task the task index
     * @param range which classes take part in the loss
     * @param lr the base learning rate
     * @param orthoWeight the weight of the prompt orthogonality loss
     * @param listener progress callbacks
     */
    public PromptedTraining(Clip clip, PromptedClassifier model, Phase phase, int task, SecondStage.ClassRange range,
            float lr, float orthoWeight, TrainingListener listener) {
        this.clip = clip;
        this.model = model;
        this.phase = phase;
        this.task = task;
        this.range = range;
        this.orthoWeight = orthoWeight;
        this.listener = listener;
        this.adam = new Adam(clip.backend(), model.parameters(), new AdamConfig(lr, 0.9f, 0.999f, 1e-8f, 0f));
    }

    /**
     * One epoch over batches with learning rate lr and the unit keys [seen, d] of the seen classes.
     *
     * @param e the epoch index
     * @param batches the epoch's batches
     * @param keys the unit keys of the seen classes
     * @param lr the epoch's learning rate
     * @return the epoch's summary
     */
    public TrainingListener.Epoch epoch(int e, Iterable<TaskData.Batch> batches, Tensor keys, float lr) {
        checkKeys(keys, range.seen());
        EpochMeter meter = new EpochMeter(listener, phase, task, e);
        for (TaskData.Batch batch : batches) meter.step(batch.size(), () -> step(batch, keys, lr));
        return meter.end(lr);
    }

    private float step(TaskData.Batch batch, Tensor keys, float lr) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor images = vitImages(model.vit(), batch);
            Tensor queries = ClipQueries.compute(clip, batch.clipImages(), batch.size());
            try (SecondStage.Result r = model.lossAndGradients(images, queries, keys, batch.labels(), range)) {
                double ortho = model.addOrthogonalityLoss(range.seen(), range.past(), orthoWeight, r.dPrompts());
                float loss = (float) (r.loss() + ortho);
                FiniteCheck.loss(loss);
                List<Tensor> grads = List.of(r.dModulation(), r.dPrompts(), r.dHeadWeight(), r.dHeadBias());
                FiniteCheck.gradients(clip.backend(), GRADIENTS, grads);
                adam.step(grads, lr);
                return loss;
            }
        }
    }

    /** Refuses keys that are not [seen, d]. */
    static void checkKeys(Tensor keys, int seen) {
        if (keys.rank() != 2 || keys.dim(0) != seen) {
            throw new IllegalArgumentException("second stage: keys must be [seen = " + seen + ", d], got " + keys);
        }
    }

    /** A batch's ViT input [B, 3, H, W] as a tensor in the current scope. */
    static Tensor vitImages(VisionTransformer vit, TaskData.Batch batch) {
        if (batch.vitImages() == null) throw new IllegalArgumentException("prompted training: batch has no ViT images");
        VitConfig v = vit.config();
        return vit.images(batch.vitImages(), batch.size());
    }

    @Override
    public void close() {
        adam.close();
    }
}
