/**
 * CLIP's byte-pair-encoding tokenizer ({@link io.starprompt.model.tokenizer.ClipTokenizer}), read
 * from Hugging Face's {@code vocab.json} and {@code merges.txt} or OpenAI's BPE file, with its text
 * cleaning.
 */
package io.starprompt.model.tokenizer;
