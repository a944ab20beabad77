package io.starprompt.tensor;

/** Where a tensor's memory lives. */
public enum Device {
    CPU,
    CUDA
}
