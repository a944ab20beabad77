/**
 * L2P (Learning to Prompt) as methods/l2p.md specifies it: {@link io.starprompt.method.l2p.L2P},
 * its settings {@link io.starprompt.method.l2p.L2PConfig} and its trainable model
 * {@link io.starprompt.method.l2p.L2PModel}.
 */
package io.starprompt.method.l2p;
