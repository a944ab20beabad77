/**
 * The safetensors weight format: a defensive, memory-mapped reader
 * ({@link io.starprompt.model.safetensors.SafetensorsFile}) that refuses malformed files before
 * committing memory, and a writer ({@link io.starprompt.model.safetensors.SafetensorsWriter}).
 */
package io.starprompt.model.safetensors;
