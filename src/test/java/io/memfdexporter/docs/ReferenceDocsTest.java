package io.memfdexporter.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.memfdexporter.cli.Main;
import io.memfdexporter.metrics.MetricFamily;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * docs/metrics.md's metrics table and docs/flags.md's flags are generated from the code (MetricFamily, the picocli
 * definitions in Main), between marker lines; this test fails when a committed page differs from what the code
 * generates, and rewrites the generated part instead when run with -Dmemfd.regenerate-docs=true.
 */
class ReferenceDocsTest {
    static final String REGENERATE = "mvn -B -q test -Dtest=ReferenceDocsTest -Dmemfd.regenerate-docs=true";
    private static final String END = "<!-- END GENERATED -->\n";

    @Test
    void metricsPageTableIsGeneratedFromMetricFamily() throws IOException {
        check(Path.of("docs", "metrics.md"), "metrics table from MetricFamily", MetricFamily.markdownTable());
    }

    @Test
    void flagsPageIsGeneratedFromTheCommandLine() throws IOException {
        check(Path.of("docs", "flags.md"), "flags from the picocli definitions in Main", flagsReference());
    }

    /** The help output is also what the exporter prints, so the page shows what a user sees. */
    @Test
    void theGeneratedHelpIsWhatHelpPrints() {
        CommandLine commandLine = Main.commandLine(new Main());
        StringWriter out = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        assertEquals(0, commandLine.execute("--help"));
        assertEquals(help(), out.toString());
    }

    /** Each option as a table row (flag, default, description as --help gives it), then the --help output. */
    static String flagsReference() {
        CommandLine commandLine = Main.commandLine(new Main());
        String table = commandLine.getCommandSpec().options().stream()
                .map(option -> "| `" + flag(option) + "` | " + (option.defaultValue() == null ? "" : "`" + option.defaultValue() + "`")
                        + " | " + markdownText(String.join(" ", option.description())) + " |")
                .collect(Collectors.joining("\n", "| Flag | Default | Description |\n|---|---|---|\n", "\n"));
        return table + "\n`memfd_exporter --help`:\n\n```\n" + help() + "```\n";
    }

    /** Table cell text: | ends a cell, * would start emphasis (memfd_*_unrecorded_*), < a tag. */
    private static String markdownText(String text) {
        return text.replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;");
    }

    private static String help() {
        return Main.commandLine(new Main()).getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    private static String flag(OptionSpec option) {
        String names = option.negatable()
                ? option.longestName().replaceFirst("^--", "--[no-]")
                : String.join(", ", option.names());
        return option.arity().max() == 0 ? names : names + "=" + option.paramLabel();
    }

    private static void check(Path page, String what, String generated) throws IOException {
        String text = Files.readString(page);
        String begin = "<!-- BEGIN GENERATED: " + what + ". Do not edit by hand; regenerate with: " + REGENERATE + " -->\n";
        int start = text.indexOf(begin);
        int end = text.indexOf(END, start + 1);
        assertTrue(start >= 0 && end > start && text.indexOf(begin, start + 1) < 0,
                page + " must hold one generated block, from the line\n" + begin + "to the line\n" + END);
        String updated = text.substring(0, start + begin.length()) + generated + text.substring(end);
        if (Boolean.getBoolean("memfd.regenerate-docs")) {
            Files.writeString(page, updated);
        } else {
            assertEquals(updated, text, page + " differs from what the code generates: run " + REGENERATE + " and commit it");
        }
    }
}
