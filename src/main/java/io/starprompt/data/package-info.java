/**
 * Images for the models: decoding ({@link io.starprompt.data.Images}), the transforms of the
 * training and test pipelines (Pillow-exact bicubic resize, crops, flips, normalisation), batch
 * assembly, and {@link io.starprompt.data.SyntheticTaskData}, a procedural class-incremental
 * benchmark that needs no files.
 */
package io.starprompt.data;
