package io.memfdexporter.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real {@code memfd_exporter} command in a child JVM (this test run's
 * classpath), optionally behind a wrapper such as setpriv. Always reaped.
 */
public final class ChildExporter implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on [^ ]+:(\\d+),");
    private static final long TIMEOUT_SECONDS = 60;

    private final Process process;
    private final StringBuffer stderr = new StringBuffer();
    /* The exporter writes nothing there; a JVM that crashes writes its fatal-error banner there. */
    private final StringBuffer stdout = new StringBuffer();
    private final Thread stderrReader;
    private int port = -1;

    private ChildExporter(Process process) {
        this.process = process;
        this.stderrReader = reader(process.getErrorStream(), stderr, "child-exporter-stderr");
        reader(process.getInputStream(), stdout, "child-exporter-stdout");
    }

    private static Thread reader(InputStream stream, StringBuffer into, String name) {
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    into.append(line).append('\n');
                }
            } catch (IOException e) {
                into.append("[reading failed: ").append(e).append("]\n");
            }
        }, name);
        reader.setDaemon(true);
        reader.start();
        return reader;
    }

    /**
     * The child JVM's flags and working directory (null: this JVM's).
     * {@link #TEST}: no /tmp/hsperfdata_root/PID file, which the exporter
     * cannot delete once it dropped root.
     */
    public record Jvm(List<String> flags, Path directory) {
        public static final Jvm TEST = new Jvm(List.of("-XX:-UsePerfData"), null);

        /** The production flags, in the test's working directory. */
        public static Jvm production() {
            return new Jvm(productionFlags(), null);
        }

        /** The flags the exporter runs with in production: EXPORTER_JVM_FLAGS in scripts/lib.sh. */
        public static List<String> productionFlags() {
            Path lib = Path.of(System.getProperty("basedir", ".")).resolve("scripts/lib.sh");
            try {
                Matcher array = Pattern.compile("EXPORTER_JVM_FLAGS=\\(([^)]*)\\)").matcher(Files.readString(lib));
                if (!array.find()) {
                    throw new AssertionError("no EXPORTER_JVM_FLAGS=(...) in " + lib);
                }
                return List.of(array.group(1).trim().split("\\s+"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public record Exit(int code, String stderr) {
        public List<String> stderrLines() {
            return stderr.isEmpty() ? List.of() : Arrays.asList(stderr.split("\n"));
        }
    }

    /**
     * Wraps a command so it runs in a private mount namespace without tracefs
     * (nor debugfs, where libbpf would look first).
     */
    public static List<String> withoutTracefs(List<String> then) {
        return inPrivateMountNamespace(
                "umount /sys/kernel/tracing 2>/dev/null || true; umount /sys/kernel/debug 2>/dev/null || true", then);
    }

    /**
     * Wraps a command so it runs in a private mount namespace prepared by a
     * shell snippet: whatever it mounts or unmounts is invisible to the host
     * and gone when the child exits.
     */
    public static List<String> inPrivateMountNamespace(String setup, List<String> then) {
        List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "set -e; " + setup + "; exec \"$@\"", "sh"));
        command.addAll(then);
        return command;
    }

    private static Process launch(List<String> wrapper, Jvm jvm, String... args) throws IOException {
        List<String> command = new ArrayList<>(wrapper);
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvm.flags());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("io.memfdexporter.cli.Main");
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        if (jvm.directory() != null) {
            builder.directory(jvm.directory().toFile());
        }
        return builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    /** Runs an exporter that is expected to fail at startup, and returns how it exited. */
    public static Exit runToExit(List<String> wrapper, String... args) throws IOException, InterruptedException {
        return runToExit(wrapper, Jvm.TEST, args);
    }

    /** As {@link #runToExit(List, String...)}, in a JVM of its own settings. */
    public static Exit runToExit(List<String> wrapper, Jvm jvm, String... args) throws IOException, InterruptedException {
        try (ChildExporter child = new ChildExporter(launch(wrapper, jvm, args))) {
            return child.awaitExit();
        }
    }

    /** Starts an exporter and waits until it listens. */
    public static ChildExporter start(List<String> wrapper, String... args) throws IOException, InterruptedException {
        return start(wrapper, Jvm.TEST, args);
    }

    /** Starts an exporter in a JVM of its own settings and waits until it listens. */
    public static ChildExporter start(List<String> wrapper, Jvm jvm, String... args) throws IOException, InterruptedException {
        ChildExporter child = spawn(wrapper, jvm, args);
        if (!child.awaitListening()) {
            String how = child.process.isAlive() ? "still starting after " + TIMEOUT_SECONDS + " s"
                    : "exited with status " + child.process.exitValue() + " (128 + N: killed by signal N)";
            child.close();
            throw new AssertionError("the exporter did not start listening: " + how + "; stderr: " + child.stderr
                    + "; stdout: " + child.stdout);
        }
        return child;
    }

    /** Starts an exporter without waiting for anything: then {@link #awaitListening()}. */
    public static ChildExporter spawn(List<String> wrapper, Jvm jvm, String... args) throws IOException {
        return new ChildExporter(launch(wrapper, jvm, args));
    }

    /** Waits until the exporter listens (true) or exits (false: see {@link #awaitExit()}), 60 s at most. */
    public boolean awaitListening() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (System.nanoTime() < deadline) {
            Matcher listening = LISTENING.matcher(stderr);
            if (listening.find()) {
                port = Integer.parseInt(listening.group(1));
                return true;
            }
            if (!process.isAlive()) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Waits for the exit, 60 s at most, and returns it with the whole stderr. */
    public Exit awaitExit() throws InterruptedException {
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError("the exporter did not exit; stderr: " + stderr);
        }
        stderrReader.join(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        return new Exit(process.exitValue(), stderr.toString());
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    /** A field of /proc/PID/status in kB, e.g. VmHWM (peak RSS). */
    public long statusKb(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
            }
        }
        throw new AssertionError("no " + field + " in /proc/" + pid() + "/status");
    }

    /** The child's open file descriptors. */
    public int openFds() throws IOException {
        try (var fds = Files.list(Path.of("/proc/" + pid() + "/fd"))) {
            return (int) fds.count();
        }
    }

    public String stderrSoFar() {
        return stderr.toString();
    }

    /** Sends SIGTERM and waits for the exit. */
    public Exit terminate() throws InterruptedException {
        // Process.destroy() would also close our end of stderr and lose the last lines.
        process.toHandle().destroy();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError("the exporter ignored SIGTERM; stderr: " + stderr);
        }
        return awaitExit();
    }

    /** SIGKILL, as a crash or an OOM kill would end it: no shutdown hook runs. Reaps the child. */
    public void kill() {
        close();
    }

    /** Kills the child (SIGKILL) if it still runs, and reaps it. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
