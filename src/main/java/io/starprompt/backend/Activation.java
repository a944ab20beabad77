package io.starprompt.backend;

/** Pointwise activations of the two backbones. */
public enum Activation {
    /** x/2 (1 + erf(x/√2)): the ViT-B/16 MLP activation. */
    GELU,
    /** x·sigmoid(1.702x): the CLIP MLP activation. */
    QUICK_GELU
}
