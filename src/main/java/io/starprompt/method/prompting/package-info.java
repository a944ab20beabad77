/**
 * How prompts enter the frozen ViT, shared by the methods: {@link io.starprompt.method.prompting.PromptInjection}
 * with its residual form (STAR-Prompt, ALGORITHM.md §4.4) and its prefix form (key and value prefixes,
 * §4.5, also DualPrompt's and CODA-Prompt's), and {@link io.starprompt.method.prompting.PrefixPromptMethod},
 * the base of the prefix-prompt methods (query pass, prompted pass and head, masked loss, evaluation,
 * checkpoints).
 */
package io.starprompt.method.prompting;
