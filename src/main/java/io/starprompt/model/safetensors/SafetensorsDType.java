package io.starprompt.model.safetensors;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Element types of the safetensors format, by their header name ({@code "F32"}, {@code "BF16"}, ...).
 *
 * <p>All byte-sized types of the format are recognised so that a file holding, say, I64 position
 * ids still opens and its other tensors can be read; only {@link #F32}, {@link #F16} and
 * {@link #BF16} can be read as floats. The sub-byte types (F4, F6_*) are not recognised.
 */
public enum SafetensorsDType {
    BOOL(1, false),
    U8(1, false),
    I8(1, false),
    F8_E5M2(1, false),
    F8_E4M3(1, false),
    F8_E8M0(1, false),
    I16(2, false),
    U16(2, false),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    U32(4, false),
    F32(4, true),
    F64(8, false),
    C64(8, false),
    I64(8, false),
    U64(8, false);

    private final int bytes;
    private final boolean floatLoadable;

    SafetensorsDType(int bytes, boolean floatLoadable) {
        this.bytes = bytes;
        this.floatLoadable = floatLoadable;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** Whether {@link SafetensorsFile#readFloats} and {@link SafetensorsFile#load} accept this type. */
    public boolean isFloatLoadable() {
        return floatLoadable;
    }

    /** The type with this exact (case-sensitive) header name, if the format defines one. */
    public static Optional<SafetensorsDType> fromHeaderName(String name) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(name)) return Optional.of(t);
        }
        return Optional.empty();
    }

    /** The header names of all recognised types, for error messages. */
    static String knownNames() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
