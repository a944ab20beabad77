/**
 * The settings of a training run by name, with where each value came from
 * ({@link io.starprompt.run.RunSettings}), the paper's benchmarks as presets, image transforms
 * written as text, and the resolution of settings into the benchmark a run trains on.
 */
package io.starprompt.run;
