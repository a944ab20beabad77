package io.starprompt.model;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Tensor;
import java.util.Arrays;

/** The check the models make of a tensor a caller hands them. */
public final class TensorArguments {
    private TensorArguments() {}

    /**
     * Checks that a tensor argument is present, open, float32, on the model's device and of exactly
     * the expected shape.
     *
     * @param op     the call, for the message
     * @param name   the argument, for the message
     * @param t      the tensor
     * @param device the model's device
     * @param shape  the expected shape
     * @throws IllegalArgumentException naming the call, the argument, the expected and the actual
     *     tensor if it is null or does not match
     * @throws IllegalStateException if it is closed
     */
    public static void requireF32(String op, String name, Tensor t, Device device, long... shape) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        t.ensureOpen(op);
        if (t.device() != device || t.dtype() != DType.F32 || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + name + " must be an f32 " + device.name().toLowerCase()
                    + " tensor " + Tensor.shapeString(shape) + ", got " + t);
        }
    }
}
