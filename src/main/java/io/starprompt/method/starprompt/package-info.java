/**
 * STAR-Prompt itself ({@link io.starprompt.method.starprompt.StarPrompt}): its grouped
 * configuration, the first stage (CLIP prompt learning and class keys), the second stage
 * (retrieval of residual prompts, the prompted ViT classifier and its training), the head
 * re-alignment on generated features, and inference. See {@code docs/ALGORITHM.md}.
 */
package io.starprompt.method.starprompt;
