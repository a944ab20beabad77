/**
 * CODA-Prompt (methods/coda-prompt.md): prompts assembled from components weighted by the
 * cosine of the frozen ViT's query to per-component keys, put into layers 0–4 as key/value
 * prefixes; the components split over the tasks, earlier ones frozen but still used.
 */
package io.starprompt.method.codaprompt;
