/**
 * Tooling for demos and tests without downloads: {@link io.starprompt.demo.RandomCheckpoints}
 * writes small randomly initialised ViT and CLIP weights in the real file layouts.
 */
package io.starprompt.demo;
