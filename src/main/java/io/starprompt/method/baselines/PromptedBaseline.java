package io.starprompt.method.baselines;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.MethodState;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.method.common.Seeds;
import io.starprompt.method.starprompt.Inference;
import io.starprompt.method.starprompt.PromptedClassifier;
import io.starprompt.method.starprompt.PromptedTraining;
import io.starprompt.method.starprompt.SecondStage;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Arrays;

/**
 * What the two bounds share: STAR-Prompt's second-stage model (prompt pools, retrieval,
 * injection, head; initialised as a STAR-Prompt run with the same seed initialises it) trained
 * with Adam and the stage-2 schedule of the config, on the same engine. There is no first
 * stage: the pools are indexed by CLIP's zero-shot text keys ("a photo of a {name}."), which
 * nothing trains. Nothing is masked, frozen, regularised or replayed: the cross-entropy runs over
 * every class the task trains on and every row of A, P, W and b may change.
 */
abstract class PromptedBaseline extends Baseline {
    private final Clip clip;
    private final VisionTransformer vit;
    final StarPromptConfig cfg;
    final long seed;
    final int classes;
    private final int keyDim;
    private final float[] keys;
    private final PromptedClassifier model;
    private final Inference inference;
    private TrainingListener listener = TrainingListener.NONE;
    private TaskData data;
    private PromptedTraining training;

    PromptedBaseline(String name, Clip clip, VisionTransformer vit, int[][] zeroShotIds, StarPromptConfig cfg, long seed) {
        super(name);
        if (clip.backend() != vit.backend()) throw new IllegalArgumentException(name + ": CLIP and ViT use different backends");
        this.clip = clip;
        this.vit = vit;
        this.cfg = cfg;
        this.seed = seed;
        this.classes = zeroShotIds.length;
        this.keyDim = clip.config().projectionDim();
        this.keys = CosineClassifier.textKeys(clip, zeroShotIds);
        this.model = PromptedClassifier.initialised(vit, classes, keyDim, cfg, Seeds.mix(seed, 2, 0));
        this.inference = new Inference(clip, model, this::keys);
    }

    /**
     * Classes the loss and the retrieval cover while training task t; the predictions after
     * {@code learned} tasks range over those of the last task learned.
     */
    abstract int trainedClasses(TaskSplit split, int t);

    /** The batches of epoch e of task t. */
    abstract Iterable<TaskData.Batch> batches(TaskData data, int t, int e);

    /** E_S2 for every task, as STAR-Prompt's second stage trains. */
    @Override
    public int epochs(int task) {
        return cfg.stage2().epochs();
    }

    /**
     * The prompted classifier it trains.
     *
     * @return the classifier
     */
    public PromptedClassifier model() {
        return model;
    }

    @Override
    public String modelIdentity() {
        return "ViT " + vit.config() + "; CLIP " + clip.config() + "; " + classes + " classes; " + model.mode()
                + " prompts " + Arrays.toString(model.prompter().prompts().shape());
    }

    @Override
    public void setListener(TrainingListener l) {
        listener = l == null ? TrainingListener.NONE : l;
    }

    @Override
    public void beginTask(int t, TaskData d) {
        TaskSplit split = checkData(d);
        progress.begin(t);
        data = d;
        if (epochs(t) == 0) return;
        listener.phaseStarted(TrainingListener.Phase.TRAINING, t);
        training = new PromptedTraining(clip, model, TrainingListener.Phase.TRAINING, t,
                new SecondStage.ClassRange(0, trainedClasses(split, t), 0), cfg.stage2().lr(), 0f, listener);
    }

    @Override
    public TrainingListener.Epoch trainEpoch(int t, int epoch) {
        progress.require(t, "trainEpoch");
        if (training == null || epoch < 0 || epoch >= epochs(t)) {
            throw new IllegalArgumentException(name() + ": task " + t + " has no epoch " + epoch);
        }
        try (TensorScope scope = TensorScope.open()) {
            return training.epoch(epoch, batches(data, t, epoch), keys(trainedClasses(data.split(), t)),
                    cfg.stage2().learningRate(epoch));
        } catch (TrainingDivergedException e) {
            throw e.inMethod(name());
        }
    }

    @Override
    public void endTask(int t) {
        progress.require(t, "endTask");
        if (training != null) training.close();
        training = null;
        data = null;
        progress.end(t);
    }

    @Override
    public TaskAccuracy evaluate(TaskData d, int testTask) {
        TaskSplit split = checkData(d);
        int known = trainedClasses(split, progress.requireLearned(testTask));
        return inference.evaluateTask(d, split, testTask, known, cfg.evalBatchSize());
    }

    /** The prompts and the head, the number of finished tasks, the config and the seed. */
    @Override
    public MethodState saveState() {
        return progress.save(cfg, seed, s -> model.saveTo(s, "model."));
    }

    @Override
    public void restoreState(MethodState s) {
        progress.restore(s, cfg, seed, state -> model.restoreFrom(state, "model."));
    }

    /** The zero-shot keys of classes [0, seen) as a tensor in the current scope. */
    private Tensor keys(int seen) {
        Backend be = clip.backend();
        return be.fromArray(Arrays.copyOf(keys, seen * keyDim), seen, keyDim);
    }

    private TaskSplit checkData(TaskData d) {
        if (d.classes() != classes) {
            throw new IllegalArgumentException(name() + ": the data has " + d.classes() + " classes, the model " + classes);
        }
        return d.split();
    }

    @Override
    public void close() {
        if (training != null) training.close();
        model.close();
    }
}
