/**
 * Pieces the methods share: the linear head, Adam, the cosine schedule, global-norm gradient
 * clipping, orthogonal initialisation and the prompt orthogonality loss, CLIP queries, the cosine
 * classifier, accuracy counting, task progress and seeds. How prompts enter the ViT lives in
 * {@code io.starprompt.method.prompting}.
 */
package io.starprompt.method.common;
