/**
 * Pieces the methods share: the linear head, Adam, orthogonal initialisation and the prompt
 * orthogonality loss, how prompts enter the ViT ({@link io.starprompt.method.common.PromptInjection}:
 * residual or prefix), CLIP queries, the cosine classifier, accuracy counting and seeds.
 */
package io.starprompt.method.common;
