/**
 * CLIP (Hugging Face's CLIPModel layout): {@link io.starprompt.model.clip.Clip} with its image and
 * text towers, {@link io.starprompt.model.clip.ClipConfig} read from {@code config.json}, token
 * batches, and the image–text logits.
 */
package io.starprompt.model.clip;
