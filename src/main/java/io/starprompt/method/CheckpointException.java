package io.starprompt.method;

/**
 * A checkpoint or a method state that cannot be used: corrupt, truncated, of another format
 * version, or written for another method, model, dataset, class order, seed or configuration.
 * The message names the file (where there is one), what does not fit and why.
 */
public final class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * A refusal with its reason.
     *
     * @param message what is wrong, naming the file or entry
     */
    public CheckpointException(String message) {
        super(message);
    }

    /**
     * A refusal caused by a lower-level failure (an unreadable safetensors container, say).
     *
     * @param message what is wrong, naming the file or entry
     * @param cause the lower-level failure
     */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
