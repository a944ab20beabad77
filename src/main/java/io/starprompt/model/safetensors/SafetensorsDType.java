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
    /** Booleans, one byte each. */
    BOOL(1, false),
    /** Unsigned 8-bit integers. */
    U8(1, false),
    /** Signed 8-bit integers. */
    I8(1, false),
    /** 8-bit floats, 5 exponent and 2 mantissa bits. */
    F8_E5M2(1, false),
    /** 8-bit floats, 4 exponent and 3 mantissa bits. */
    F8_E4M3(1, false),
    /** 8-bit floats, 8 exponent bits and no mantissa (scale factors). */
    F8_E8M0(1, false),
    /** Signed 16-bit integers. */
    I16(2, false),
    /** Unsigned 16-bit integers. */
    U16(2, false),
    /** IEEE half-precision floats (read as floats). */
    F16(2, true),
    /** bfloat16 (read as floats). */
    BF16(2, true),
    /** Signed 32-bit integers. */
    I32(4, false),
    /** Unsigned 32-bit integers. */
    U32(4, false),
    /** IEEE single-precision floats. */
    F32(4, true),
    /** IEEE double-precision floats. */
    F64(8, false),
    /** Complex numbers of two single-precision floats. */
    C64(8, false),
    /** Signed 64-bit integers. */
    I64(8, false),
    /** Unsigned 64-bit integers. */
    U64(8, false);

    private final int bytes;
    private final boolean floatLoadable;

    SafetensorsDType(int bytes, boolean floatLoadable) {
        this.bytes = bytes;
        this.floatLoadable = floatLoadable;
    }

    /**
     * Size of one element in bytes.
     *
     * @return the bytes per element
     */
    public int bytes() {
        return bytes;
    }

    /**
     * Whether {@link SafetensorsFile#readFloats} and {@link SafetensorsFile#load} accept this type.
     *
     * @return whether it is F32, F16 or BF16
     */
    public boolean isFloatLoadable() {
        return floatLoadable;
    }

    /**
     * The type with this exact (case-sensitive) header name, if the format defines one.
     *
     * @param name the header name
     * @return the type, or empty
     */
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
