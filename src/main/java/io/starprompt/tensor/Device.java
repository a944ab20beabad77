package io.starprompt.tensor;

/** Where a tensor's memory lives. */
public enum Device {
    /** Host memory. */
    CPU,
    /** Memory of the CUDA device. */
    CUDA
}
