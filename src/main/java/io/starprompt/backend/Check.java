package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Tensor;
import java.util.Arrays;

/** Argument checks run before any native call; messages name the op and the shapes. */
final class Check {
    private Check() {}

    static IllegalArgumentException bad(String op, String what) {
        return new IllegalArgumentException(op + ": " + what);
    }

    /** t is non-null, open, on the device and of the dtype. */
    static Tensor tensor(String op, String name, Tensor t, Device device, DType dtype) {
        if (t == null) throw bad(op, name + " is null");
        if (t.isClosed()) throw new IllegalStateException(op + ": " + name + " " + t + " is closed");
        if (t.device() != device) throw bad(op, name + " " + t + " is not on " + device);
        if (t.dtype() != dtype) throw bad(op, name + " " + t + " must be " + dtype);
        return t;
    }

    /** t has exactly the given dims. */
    static void shape(String op, String name, Tensor t, long... dims) {
        if (!Arrays.equals(t.shape(), dims)) {
            throw bad(op, name + " has shape " + Tensor.shapeString(t.shape()) + ", expected "
                    + Tensor.shapeString(dims));
        }
    }

    static void rank(String op, String name, Tensor t, int... allowed) {
        for (int r : allowed) if (t.rank() == r) return;
        throw bad(op, name + " " + t + " must have rank " + Arrays.toString(allowed));
    }

    static void sameShape(String op, String nameA, Tensor a, String nameB, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw bad(op, nameA + " " + Tensor.shapeString(a.shape()) + " and " + nameB + " "
                    + Tensor.shapeString(b.shape()) + " differ in shape");
        }
    }

    static void indices(String op, String name, int[] idx, int expectedLength, int lo, int hi) {
        if (idx == null) throw bad(op, name + " is null");
        if (idx.length != expectedLength) {
            throw bad(op, name + " has " + idx.length + " entries, expected " + expectedLength);
        }
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < lo || idx[i] >= hi) {
                throw bad(op, name + "[" + i + "] = " + idx[i] + " is outside [" + lo + ", " + hi + ")");
            }
        }
    }

    /** A shape for a new tensor: present, no negative dimension, and a byte size that fits 64 bits. */
    static void shapeOf(String op, long[] shape, DType dtype) {
        if (shape == null) throw bad(op, "shape is null");
        for (long d : shape) {
            if (d < 0) throw bad(op, "negative dimension in shape " + Tensor.shapeString(shape));
        }
        try {
            Math.multiplyExact(Tensor.numel(shape), (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw bad(op, "shape " + Tensor.shapeString(shape) + " of " + dtype + " needs more bytes than fit in 64 bits");
        }
    }

    static int toInt(String op, String what, long v) {
        if (v > Integer.MAX_VALUE) throw bad(op, what + " = " + v + " exceeds the 32-bit kernel limit");
        return (int) v;
    }
}
