/**
 * What the model packages share: {@link io.starprompt.model.ImageBatch}, where host images enter
 * a tower, and {@link io.starprompt.model.ExclusiveUse}, the one-thread-at-a-time rule of a model.
 * The models themselves are in {@code vit} and {@code clip}, the weight files in
 * {@code safetensors}, CLIP's tokenizer in {@code tokenizer}.
 */
package io.starprompt.model;
