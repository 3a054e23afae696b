package io.memfdexporter.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The tools the tests run, from the Debian/Ubuntu packages that scripts/test.sh
 * installs: Prometheus' for the monitoring tests, runc for the exec tests,
 * chromium for the landing page, jsonnet for the monitoring mixin. A
 * missing tool fails the test, never skips it: the shipped rules and dashboard,
 * and runc's classification, are only proven where these tools run. (Only
 * the mixin tests may skip without jsonnet, through {@link RequiresJsonnet}.)
 */
public enum Tool {
    PROMTOOL("promtool", "prometheus"),
    PROMETHEUS("prometheus", "prometheus"),
    ALERTMANAGER("prometheus-alertmanager", "prometheus-alertmanager"),
    RUNC("runc", "runc"),
    /** Headless, for the landing page as a browser renders it. */
    CHROMIUM("chromium", "chromium"),
    /** Renders mixin/ into the shipped rules and dashboard. */
    JSONNET("jsonnet", "jsonnet");

    private final String command;
    private final String debianPackage;

    Tool(String command, String debianPackage) {
        this.command = command;
        this.debianPackage = debianPackage;
    }

    /** The executable on PATH; fails the test, saying how to install it, when there is none. */
    public Path path() {
        return find().orElseThrow(() -> new AssertionError(missing()));
    }

    /** The executable on PATH, if there is one. */
    public Optional<Path> find() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, command);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Why the tool cannot run, and how to install it. */
    public String missing() {
        return command + " is not installed: run ./scripts/test.sh, which installs the package "
                + debianPackage + " (CI runs it), or apt-get install " + debianPackage;
    }

    public record Result(int exitCode, String output) {
    }

    /** Runs the tool to completion (60 s at most), stdout and stderr together. */
    public Result run(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(path().toString()));
        argv.addAll(List.of(args));
        return run(argv);
    }

    /** Runs a command (a script that runs the tools, say) to completion (60 s at most), stdout and stderr together. */
    public static Result run(List<String> argv) throws IOException, InterruptedException {
        Path output = Files.createTempFile(Path.of(argv.get(0)).getFileName().toString(), ".out");
        Process process = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(output.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", argv) + " did not finish in 60 s");
            }
            return new Result(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            process.destroyForcibly();
            process.waitFor();
            Files.delete(output);
        }
    }
}
