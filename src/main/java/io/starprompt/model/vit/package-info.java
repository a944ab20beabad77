/**
 * The Vision Transformer (timm's ViT-B/16 layout) with STAR-Prompt's residual or prefix prompts
 * entering each block's attention: {@link io.starprompt.model.vit.VisionTransformer}, its
 * configuration, prompts, activations kept for the backward pass and prompt gradients. Its
 * transformer block is shared with the CLIP towers.
 */
package io.starprompt.model.vit;
