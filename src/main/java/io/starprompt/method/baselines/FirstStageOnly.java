package io.starprompt.method.baselines;

import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.MethodState;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.method.starprompt.FirstStage;
import io.starprompt.method.starprompt.FirstStageTrainer;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;

/**
 * STAR-Prompt's first stage on its own (ALGORITHM.md §6, last paragraph): the class context tokens are
 * trained, replayed and fixed per task exactly as in a STAR-Prompt run with the same seed and
 * config, and the prediction is argmax cos(q, k_c) over the seen classes with the learned keys
 * on the clip_preprocess test images. A STAR-Prompt run's "first stage only" accuracy and this
 * method's are therefore the same numbers.
 */
public final class FirstStageOnly extends Baseline {
    /** {@value #NAME}. */
    public static final String NAME = "first-stage-only";

    private final Clip clip;
    private final StarPromptConfig cfg;
    private final long seed;
    private final FirstStage stage;
    private TrainingListener listener = TrainingListener.NONE;
    private FirstStageTrainer.Task task;

    /**
     * @param clip      the frozen CLIP model (borrowed)
     * @param promptIds per class the ids of "X {name}." (see {@link FirstStage#promptIds})
     * @param cfg       the run's settings (its stage-1 part, batch sizes and mixture density)
     * @param seed      the run seed
     */
    public FirstStageOnly(Clip clip, int[][] promptIds, StarPromptConfig cfg, long seed) {
        super(NAME);
        this.clip = clip;
        this.cfg = cfg;
        this.seed = seed;
        this.stage = FirstStage.forRun(clip, promptIds, cfg, seed);
    }

    /**
     * The first stage it trains.
     *
     * @return the first stage
     */
    public FirstStage firstStage() {
        return stage;
    }

    @Override
    public String modelIdentity() {
        return "CLIP " + clip.config() + "; " + stage.classes() + " classes; ctx [" + stage.classes() + ", 1, "
                + clip.config().text().width() + "]";
    }

    @Override
    public void setListener(TrainingListener l) {
        listener = l == null ? TrainingListener.NONE : l;
    }

    @Override
    public int epochs(int t) {
        return cfg.stage1().epochs();
    }

    @Override
    public void beginTask(int t, TaskData data) {
        TaskSplit split = checkData(data);
        progress.begin(t);
        task = new FirstStageTrainer(stage, cfg, seed, listener).begin(t, data, split.past(t), split.seen(t));
    }

    @Override
    public TrainingListener.Epoch trainEpoch(int t, int epoch) {
        progress.require(t, "trainEpoch");
        try {
            return task.epoch(epoch);
        } catch (TrainingDivergedException e) {
            throw e.inMethod(name());
        }
    }

    @Override
    public void endTask(int t) {
        progress.require(t, "endTask");
        try {
            task.finish();
        } catch (TrainingDivergedException e) {
            throw e.inMethod(name());
        }
        task = null;
        progress.end(t);
    }

    @Override
    public TaskAccuracy evaluate(TaskData data, int testTask) {
        TaskSplit split = checkData(data);
        int seen = split.seen(progress.requireLearned(testTask));
        return CosineClassifier.evaluateTask(clip, stage.cachedKeys(seen), data, split, testTask, seen,
                cfg.evalBatchSize());
    }

    /** The first stage's ctx, fixed keys and mixtures, the number of finished tasks, the config and the seed. */
    @Override
    public MethodState saveState() {
        return progress.save(cfg, seed, s -> stage.saveTo(s, "stage1."));
    }

    @Override
    public void restoreState(MethodState s) {
        progress.restore(s, cfg, seed, state -> stage.restoreFrom(state, "stage1."));
    }

    private TaskSplit checkData(TaskData data) {
        if (data.classes() != stage.classes()) {
            throw new IllegalArgumentException(NAME + ": the data has " + data.classes() + " classes, the prompts "
                    + stage.classes());
        }
        return data.split();
    }

    @Override
    public void close() {
        stage.close();
    }
}
