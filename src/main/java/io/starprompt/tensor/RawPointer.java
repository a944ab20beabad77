package io.starprompt.tensor;

import org.bytedeco.javacpp.Pointer;

/** A JavaCPP pointer at a given address that owns nothing (host or device memory alike). */
public final class RawPointer extends Pointer {
    /**
     * A pointer to that address.
     *
     * @param address the address
     */
    public RawPointer(long address) {
        this.address = address;
    }
}
