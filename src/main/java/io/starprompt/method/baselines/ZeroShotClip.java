package io.starprompt.method.baselines;

import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.MethodState;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The zero-shot CLIP baseline (ALGORITHM.md §6, §9): nothing is learned; the keys are the unit text
 * features of "a photo of a {name}." and the prediction is argmax cos(q, k_c) over the classes
 * seen so far, on the un-augmented clip_preprocess test images. Its accuracy changes from task
 * to task only because more classes compete.
 */
public final class ZeroShotClip extends Baseline {
    /** {@value #NAME}. */
    public static final String NAME = "zero-shot-clip";
    /** The zero-shot template of the single-template CLIP baseline. */
    public static final String TEMPLATE = "a photo of a %s.";

    private final Clip clip;
    private final float[] keys;
    private final int classes;
    private final int evalBatch;

    /**
     * @param clip      the frozen CLIP model (borrowed)
     * @param promptIds per class the token ids of its zero-shot prompt ({@link #promptIds})
     * @param evalBatch batch size of the CLIP image pass
     */
    public ZeroShotClip(Clip clip, int[][] promptIds, int evalBatch) {
        super(NAME);
        if (evalBatch < 1) throw new IllegalArgumentException(NAME + ": evaluation batch " + evalBatch);
        this.clip = clip;
        this.keys = CosineClassifier.textKeys(clip, promptIds);
        this.classes = promptIds.length;
        this.evalBatch = evalBatch;
    }

    /**
     * Token ids of {@link #TEMPLATE} for every class name.
     *
     * @param tok CLIP's tokenizer
     * @param classNames one name per label
     * @return the ids, one row per class
     */
    public static int[][] promptIds(ClipTokenizer tok, List<String> classNames) {
        List<String> texts = new ArrayList<>();
        for (String n : classNames) texts.add(String.format(TEMPLATE, n));
        return tok.tokenize(texts);
    }

    /**
     * The unit keys [C, d], host row-major (a copy).
     *
     * @return the keys
     */
    public float[] keys() {
        return keys.clone();
    }

    @Override
    public String modelIdentity() {
        return "CLIP " + clip.config() + "; " + classes + " classes";
    }

    /** Nothing trains, so nothing is reported. */
    @Override
    public void setListener(TrainingListener listener) {}

    @Override
    public int epochs(int task) {
        return 0;
    }

    @Override
    public void beginTask(int task, TaskData data) {
        if (data.classes() != classes) {
            throw new IllegalArgumentException(NAME + ": the data has " + data.classes() + " classes, the prompts " + classes);
        }
        progress.begin(task);
    }

    @Override
    public TrainingListener.Epoch trainEpoch(int task, int epoch) {
        throw new IllegalStateException(NAME + ": nothing to train (0 epochs)");
    }

    @Override
    public void endTask(int task) {
        progress.end(task);
    }

    @Override
    public TaskAccuracy evaluate(TaskData data, int testTask) {
        int last = progress.requireLearned(testTask);
        TaskSplit split = data.split();
        return CosineClassifier.evaluateTask(clip, keys, data, split, testTask, split.seen(last), evalBatch);
    }

    /** Only the number of finished tasks: the keys follow from the prompts. */
    @Override
    public MethodState saveState() {
        return new MethodState().put("tasks_learned", progress.learned());
    }

    @Override
    public void restoreState(MethodState s) {
        progress.restore(s.intProperty("tasks_learned"));
    }

    @Override
    public void close() {}
}
