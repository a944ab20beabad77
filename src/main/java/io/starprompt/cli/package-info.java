/**
 * The command-line runner behind {@code bin/starprompt}: the commands {@code demo}, {@code train},
 * {@code eval}, {@code bench} and {@code check-kernels}, and their console output. It is the
 * library's own application, not part of its API, and the only code that uses the optional
 * dependencies picocli, progressbar and slf4j-simple, which applications embedding the library
 * do not receive.
 */
package io.starprompt.cli;
