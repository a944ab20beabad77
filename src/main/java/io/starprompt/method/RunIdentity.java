package io.starprompt.method;

import io.starprompt.cl.TaskData;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * What a checkpoint must match to be resumed: the method, the model (backbone sizes and
 * parameter shapes), the dataset, its class order and the seed. Compared field by field when a
 * checkpoint is read; the first difference is the reason of the refusal.
 *
 * @param method     {@link ContinualMethod#name()}
 * @param model      {@link ContinualMethod#modelIdentity()}
 * @param dataset    the benchmark: by default its description and task split; a runner may use a
 *                   preset name, a path or a content fingerprint instead
 * @param classOrder the order of the classes: by default the class names in label order; a
 *                   runner may use the permutation it applied
 * @param seed       the run seed (every random choice derives from it)
 */
public record RunIdentity(String method, String model, String dataset, String classOrder, long seed) {
    /**
     * Validates that no field is null.
     *
     * @param method the method's name
     * @param model the model's identity ({@link ContinualMethod#modelIdentity()})
     * @param dataset the benchmark's description
     * @param classOrder the class order's description
     * @param seed the run's seed
     */
    public RunIdentity {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(classOrder, "classOrder");
    }

    /**
     * The identity of a run of method on data with that seed, with the default dataset and class-order
     * descriptions.
     *
     * @param method the method
     * @param data the benchmark
     * @param seed the run's seed
     * @return the identity
     */
    public static RunIdentity of(ContinualMethod method, TaskData data, long seed) {
        String dataset = data + "; tasks " + Arrays.toString(data.split().classesPerTask());
        return new RunIdentity(method.name(), method.modelIdentity(), dataset, String.join(" | ", data.classNames()), seed);
    }

    /**
     * A copy with another dataset identity.
     *
     * @param d the dataset's description
     * @return the copy
     */
    public RunIdentity withDataset(String d) {
        return new RunIdentity(method, model, d, classOrder, seed);
    }

    /**
     * A copy with another class-order identity.
     *
     * @param order the class order's description
     * @return the copy
     */
    public RunIdentity withClassOrder(String order) {
        return new RunIdentity(method, model, dataset, order, seed);
    }

    /**
     * Why a checkpoint with identity {@code saved} cannot continue this run: the first field that
     * differs, both values quoted; empty when they all match.
     *
     * @param saved the identity stored in a checkpoint
     * @return the reason, or empty
     */
    public Optional<String> mismatch(RunIdentity saved) {
        if (!method.equals(saved.method)) return differs("method", saved.method, method);
        if (!model.equals(saved.model)) return differs("model", saved.model, model);
        if (!dataset.equals(saved.dataset)) return differs("dataset", saved.dataset, dataset);
        if (!classOrder.equals(saved.classOrder)) return differs("class order", saved.classOrder, classOrder);
        if (seed != saved.seed) return differs("seed", Long.toString(saved.seed), Long.toString(seed));
        return Optional.empty();
    }

    private static Optional<String> differs(String what, String saved, String current) {
        return Optional.of("it was written for another " + what + ": '" + saved + "', this run has '" + current + "'");
    }
}
