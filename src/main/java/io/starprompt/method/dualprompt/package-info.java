/**
 * DualPrompt (methods/dualprompt.md): a G-prompt shared by all tasks in layers 0–1 and one
 * E-prompt per task in layers 2–4, both as key/value prefixes; the E-prompt is chosen by task
 * identity in training and by the closest key at test.
 */
package io.starprompt.method.dualprompt;
