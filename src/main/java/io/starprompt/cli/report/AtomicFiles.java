package io.starprompt.cli.report;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see either the old file or the complete new one: the bytes go to
 * a temporary file in the same folder (a rename is only atomic within one file system), which is
 * then renamed over the target. A failure removes the temporary file.
 */
final class AtomicFiles {
    /** Prefix of the temporary files, so that leftovers of a killed process are recognisable. */
    static final String TEMP_PREFIX = ".starprompt-";

    /** Streams the content of a file. */
    @FunctionalInterface
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {}

    /** Writes content to target through a temporary sibling and an atomic rename. */
    static Path write(Path target, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, TEMP_PREFIX + target.getFileName() + "-", ".tmp");
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream out = Channels.newOutputStream(channel);
                content.writeTo(out);
                out.flush();
                // On disk before the rename: otherwise a power cut could leave the new name with no content.
                channel.force(true);
            }
            // No fallback to a plain move: where the rename cannot be atomic, failing is the honest answer.
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
            return target;
        } finally {
            if (!moved) Files.deleteIfExists(tmp);
        }
    }

    /** Writes text as UTF-8. */
    static Path writeString(Path target, String text) throws IOException {
        return write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }
}
