/**
 * Small readers used across the library: strict JSON ({@link io.starprompt.util.Json}) and
 * bounded, strict UTF-8 text files ({@link io.starprompt.util.TextFiles}).
 */
package io.starprompt.util;
