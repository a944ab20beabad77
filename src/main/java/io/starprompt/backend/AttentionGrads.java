package io.starprompt.backend;

import io.starprompt.tensor.Tensor;

/**
 * Gradient outputs of attention, shaped like the matching inputs; each is overwritten.
 * dPrefixK/dPrefixV must be given iff the inputs had prefixes, dResidual iff a residual.
 * dq, dk, dv may be null when not needed (e.g. the first prompted layer).
 */
public record AttentionGrads(Tensor dq, Tensor dk, Tensor dv, Tensor dPrefixK, Tensor dPrefixV, Tensor dResidual) {}
