/**
 * The reports of a command-line run: {@code results.json}, {@code metrics.csv} and two PNG
 * plots, written by {@link io.starprompt.cli.report.ReportWriter} from a
 * {@link io.starprompt.cli.report.RunReport}. This package is part of the command-line runner,
 * not of the library core: it draws with XChart, an optional dependency that applications
 * embedding the library do not receive.
 */
package io.starprompt.cli.report;
