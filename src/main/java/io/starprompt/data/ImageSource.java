package io.starprompt.data;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

/** Something that yields one decoded image when asked: a file, encoded bytes, or an image in memory. */
@FunctionalInterface
public interface ImageSource {
    /**
     * Loads (decodes) the image.
     *
     * @return the image
     * @throws IllegalArgumentException naming the source if it cannot be decoded
     */
    RgbImage load();

    /**
     * An image file decoded with {@link Images#decode(Path)}.
     *
     * @param file the file
     * @return the source
     */
    static ImageSource file(Path file) {
        return () -> Images.decode(file);
    }

    /**
     * Encoded bytes (e.g. an archive member) decoded with {@link Images#decode(byte[], String)}.
     *
     * @param bytes the encoded image
     * @param name where it came from
     * @return the source
     */
    static ImageSource encoded(byte[] bytes, String name) {
        return () -> Images.decode(bytes, name);
    }

    /**
     * An AWT image converted with {@link Images#fromBufferedImage} when loaded (grey becomes three
     * equal channels, alpha is dropped).
     *
     * @param image the image
     * @return the source
     */
    static ImageSource of(BufferedImage image) {
        return () -> Images.fromBufferedImage(image);
    }

    /**
     * An image already in memory.
     *
     * @param image the image
     * @return the source
     */
    static ImageSource of(RgbImage image) {
        return () -> image;
    }
}
