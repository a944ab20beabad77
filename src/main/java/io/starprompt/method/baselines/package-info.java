/**
 * Methods to compare STAR-Prompt with, all {@link io.starprompt.method.ContinualMethod}s:
 * zero-shot CLIP, the first stage alone, and the bounds sequential fine-tuning (lower) and joint
 * training (upper).
 */
package io.starprompt.method.baselines;
