package io.starprompt.method.baselines;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The zero-shot CLIP baseline (spec §6, §9): keys = unit text features of "a photo of a {name}.",
 * prediction = argmax of cos(q, k_c) over the seen classes, on the un-augmented clip_preprocess
 * test images.
 */
public final class Baselines {
    /** The zero-shot template of the single-template CLIP baseline. */
    public static final String TEMPLATE = "a photo of a %s.";

    private Baselines() {}

    /** Token ids of "a photo of a {name}." per class. */
    public static int[][] zeroShotPromptIds(ClipTokenizer tok, List<String> classNames) {
        List<String> texts = new ArrayList<>();
        for (String n : classNames) texts.add(String.format(TEMPLATE, n));
        return tok.tokenize(texts);
    }

    /** Zero-shot keys from class names ({@link #TEMPLATE}), host [C, d]. */
    public static float[] zeroShotKeys(Clip clip, ClipTokenizer tok, List<String> classNames) {
        return CosineClassifier.textKeys(clip, zeroShotPromptIds(tok, classNames));
    }

    /**
     * The zero-shot CLIP accuracy matrix: nothing is learned, row t evaluates tasks 0…t over the
     * classes seen after task t.
     */
    public static AccuracyMatrix zeroShot(Clip clip, float[] keys, TaskData data, int batch) {
        TaskSplit split = data.split();
        AccuracyMatrix m = new AccuracyMatrix(split.tasks());
        for (int t = 0; t < split.tasks(); t++) {
            m.setRow(t, CosineClassifier.evaluate(clip, keys, data, t, split.seen(t), batch));
        }
        return m;
    }
}
