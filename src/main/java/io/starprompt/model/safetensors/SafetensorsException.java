package io.starprompt.model.safetensors;

import java.nio.file.Path;

/**
 * A safetensors file is malformed, or a request does not match it (a missing tensor, a wrong
 * shape, a type that cannot be read as floats). The message names the file and, where one is
 * involved, the tensor.
 */
public class SafetensorsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with a ready-made message.
     *
     * @param message the message, naming the file
     */
    public SafetensorsException(String message) {
        super(message);
    }

    /**
     * An exception with a ready-made message and the failure that caused it.
     *
     * @param message the message, naming the file
     * @param cause the underlying failure
     */
    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A problem with the file as a whole: "file.safetensors: problem". */
    static SafetensorsException inFile(Path file, String problem) {
        return new SafetensorsException(file + ": " + problem);
    }

    /** A problem with one tensor: "file.safetensors: tensor 'name': problem". */
    static SafetensorsException inTensor(Path file, String tensor, String problem) {
        return new SafetensorsException(file + ": tensor '" + tensor + "': " + problem);
    }
}
