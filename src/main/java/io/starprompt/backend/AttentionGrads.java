package io.starprompt.backend;

import io.starprompt.tensor.Tensor;

/**
 * Gradient outputs of attention, shaped like the matching inputs; each is overwritten.
 * dq, dk, dv are required; dPrefixK/dPrefixV must be given iff the inputs had prefixes,
 * dResidual iff a residual. (A caller that needs only dResidual can take the token sum of dOut.)
 */
public record AttentionGrads(Tensor dq, Tensor dk, Tensor dv, Tensor dPrefixK, Tensor dPrefixV, Tensor dResidual) {}
