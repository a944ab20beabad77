/**
 * The contract between continual-learning methods and the code that drives them:
 * {@link io.starprompt.method.ContinualMethod} (begin a task, train an epoch, end the task,
 * evaluate, save and restore state), progress callbacks
 * ({@link io.starprompt.method.TrainingListener}), the runner
 * ({@link io.starprompt.method.ContinualRun}) and the checkpoint files
 * ({@link io.starprompt.method.Checkpoints}, {@link io.starprompt.method.MethodState},
 * {@link io.starprompt.method.RunIdentity}).
 */
package io.starprompt.method;
