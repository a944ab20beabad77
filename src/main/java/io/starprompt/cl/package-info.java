/**
 * Class-incremental learning: the benchmark contract {@link io.starprompt.cl.TaskData}, the task
 * split ({@link io.starprompt.cl.TaskSplit}), the benchmarks' seeded class orders
 * ({@link io.starprompt.cl.ClassOrder}) and the accuracy matrix with its metrics (final average
 * accuracy, forgetting, backward transfer: {@link io.starprompt.cl.AccuracyMatrix}).
 */
package io.starprompt.cl;
