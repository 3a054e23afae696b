package io.memfdexporter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs python3 as a separate process whose comm is a chosen name: the kernel
 * names a process after the file it executed, so python3 is run through a
 * symlink with that name. (python3 on PATH may be a wrapper script, so the
 * symlink points at the real interpreter.)
 */
public final class Python {
    private static Path interpreter;

    private final String comm;
    /** The file the comm's symlink points at; null for {@link #interpreter()}. */
    private final Path executable;
    /** The command the process is started through (empty: directly), e.g. a {@link MountNamespace#wrapper()}. */
    private final List<String> wrapper;

    private Python(String comm, Path executable, List<String> wrapper) {
        this.comm = comm;
        this.executable = executable;
        this.wrapper = wrapper;
    }

    public static Python named(String comm) {
        return new Python(comm, null, List.of());
    }

    /**
     * The same comm, but the process executes {@code copy}, a copy of {@link #interpreter()}:
     * what the kernel sees as the process's executable (/proc/PID/exe) is then that file.
     */
    public Python executing(Path copy) {
        return new Python(comm, copy, wrapper);
    }

    /** The same process, run in {@code namespace} (its comm is still the symlink's name: the wrapper execs it). */
    public Python in(MountNamespace namespace) {
        return new Python(comm, executable, namespace.wrapper());
    }

    public String comm() {
        return comm;
    }

    public record Result(String stdout, String stderr) {
    }

    /**
     * Copies {@link #interpreter()} to {@code file} with that owner and mode
     * (e.g. "rwxr-xr-x"), for {@link #executing(Path)}.
     */
    public static Path copyOfInterpreter(Path file, int uid, String mode) throws IOException, InterruptedException {
        Path copy = Files.copy(interpreter(), file);
        Files.setAttribute(copy, "unix:uid", uid);
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString(mode));
        return copy;
    }

    /** Runs a script with these arguments (sys.argv[1:]) to completion (reaped, 60 s at most); fails the test when it exits non-zero. */
    public Result run(String script, String... args) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("mfdpy");
        Path link = dir.resolve(comm);
        try {
            Files.createSymbolicLink(link, executable != null ? executable : interpreter());
            List<String> command = new ArrayList<>(wrapper);
            command.addAll(List.of(link.toString(), "-c", script));
            command.addAll(List.of(args));
            return exec(command.toArray(String[]::new));
        } finally {
            Files.deleteIfExists(link);
            Files.deleteIfExists(dir);
        }
    }

    /** The real interpreter behind python3 on PATH, found once (a symlink to a wrapper script would lend its name to the wrapper, not to python). */
    public static synchronized Path interpreter() throws IOException, InterruptedException {
        if (interpreter == null) {
            Result where = exec("python3", "-c", "import os, sys; print(os.path.realpath(sys.executable))");
            interpreter = Path.of(where.stdout().strip());
        }
        return interpreter;
    }

    private static Result exec(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        try {
            // Small outputs only: read after exit is safe below the pipe buffer size.
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", command) + " did not finish in 60 s");
            }
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new AssertionError(command[0] + " exited " + process.exitValue() + ": " + err);
            }
            return new Result(out, err);
        } finally {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
