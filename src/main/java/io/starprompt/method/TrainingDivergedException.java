package io.starprompt.method;

/**
 * Training stopped because a loss or a gradient holds NaN or infinity: the update that would have
 * spread it into the parameters was not made. Thrown from the step that found it, before any
 * optimiser step with that gradient, so nothing of the task in progress is saved and the
 * checkpoint of the task before stays as it was.
 *
 * <p>The message names the method, the task, epoch and step (counted from 1, as people count),
 * the phase and the tensor, e.g.
 * {@code star-prompt: training diverged at task 2, epoch 1, step 3 (second stage): the gradient of
 * the prompts P holds NaN (element [0, 4, 17] of [2, 6, 32])}. The accessors give the same numbers
 * counted from 0, as the rest of the API does; a part not known where the exception was thrown
 * is filled in by the callers that know it ({@link #at}, {@link #inMethod}).
 */
public final class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The method's name, or null. */
    private final String method;
    /** The phase in words, or null. */
    private final String phase;
    /** The 0-based task, or -1. */
    private final int task;
    /** The 0-based epoch, or -1. */
    private final int epoch;
    /** The 0-based step, or -1. */
    private final int step;
    /** The tensor that holds the value, in words. */
    private final String tensor;
    /** What was found. */
    private final String found;
    /** What the message adds after the finding, or null. */
    private final String note;

    private TrainingDivergedException(String method, String phase, int task, int epoch, int step, String tensor,
            String found, String note) {
        super(message(method, phase, task, epoch, step, tensor, found) + (note == null ? "" : "; " + note));
        this.method = method;
        this.phase = phase;
        this.task = task;
        this.epoch = epoch;
        this.step = step;
        this.tensor = tensor;
        this.found = found;
        this.note = note;
    }

    /**
     * A non-finite value found in a tensor, without context yet.
     *
     * @param tensor what holds it, in words ("the loss", "the gradient of the prompts P")
     * @param found  what was found and where ("NaN", "+Inf at element [3, 1] of [4, 8]")
     * @return the exception
     */
    public static TrainingDivergedException found(String tensor, String found) {
        return new TrainingDivergedException(null, null, -1, -1, -1, tensor, found, null);
    }

    /**
     * This exception with the parts of its context that are still unknown filled in (a known
     * part is kept: the innermost caller knows best).
     *
     * @param phase the training phase in words ("second stage"), or null
     * @param task  0-based task, or -1
     * @param epoch 0-based epoch of the phase, or -1
     * @param step  0-based step of the epoch, or -1
     * @return the completed exception (this one if nothing was missing)
     */
    public TrainingDivergedException at(String phase, int task, int epoch, int step) {
        String p = this.phase != null ? this.phase : phase;
        int t = this.task >= 0 ? this.task : task;
        int e = this.epoch >= 0 ? this.epoch : epoch;
        int s = this.step >= 0 ? this.step : step;
        if (p == this.phase && t == this.task && e == this.epoch && s == this.step) return this;
        return copy(method, p, t, e, s);
    }

    /**
     * This exception naming the method (kept if it already names one).
     *
     * @param name the method's {@link ContinualMethod#name()}
     * @return the completed exception
     */
    public TrainingDivergedException inMethod(String name) {
        return method != null ? this : copy(name, phase, task, epoch, step);
    }

    /**
     * This exception with a remark appended to its message (what was kept, what to try), replacing
     * an earlier one.
     *
     * @param remark the words after "; " (null: none)
     * @return the exception with the remark
     */
    public TrainingDivergedException withNote(String remark) {
        TrainingDivergedException x = new TrainingDivergedException(method, phase, task, epoch, step, tensor, found, remark);
        x.setStackTrace(getStackTrace());
        return x;
    }

    private TrainingDivergedException copy(String m, String p, int t, int e, int s) {
        TrainingDivergedException x = new TrainingDivergedException(m, p, t, e, s, tensor, found, note);
        x.setStackTrace(getStackTrace());
        return x;
    }

    private static String message(String method, String phase, int task, int epoch, int step, String tensor,
            String found) {
        StringBuilder sb = new StringBuilder();
        if (method != null) sb.append(method).append(": ");
        sb.append("training diverged");
        String where = (task >= 0 ? "task " + (task + 1) : "") + (epoch >= 0 ? (task >= 0 ? ", " : "") + "epoch " + (epoch + 1) : "")
                + (step >= 0 ? (task >= 0 || epoch >= 0 ? ", " : "") + "step " + (step + 1) : "");
        if (!where.isEmpty()) sb.append(" at ").append(where);
        if (phase != null) sb.append(where.isEmpty() ? " in the " : " (").append(phase).append(where.isEmpty() ? "" : ")");
        return sb.append(": ").append(tensor).append(" holds ").append(found).toString();
    }

    /**
     * The method's name, or null if not known where this was thrown.
     *
     * @return the method's name, or null
     */
    public String method() {
        return method;
    }

    /**
     * The phase in words ("first stage", "second stage", "head alignment"...), or null.
     *
     * @return the phase, or null
     */
    public String phase() {
        return phase;
    }

    /**
     * The 0-based task, or -1.
     *
     * @return the task, or -1
     */
    public int task() {
        return task;
    }

    /**
     * The 0-based epoch of the phase, or -1.
     *
     * @return the epoch, or -1
     */
    public int epoch() {
        return epoch;
    }

    /**
     * The 0-based step of the epoch, or -1.
     *
     * @return the step, or -1
     */
    public int step() {
        return step;
    }

    /**
     * The tensor that holds the value, in words.
     *
     * @return the tensor's description
     */
    public String tensor() {
        return tensor;
    }

    /**
     * What was found, and where in the tensor when it has elements.
     *
     * @return the finding
     */
    public String found() {
        return found;
    }
}
