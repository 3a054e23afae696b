package io.memfdexporter.live;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Python;

/**
 * A real python3 child with a comm of its own: the interpreter is started
 * through a symlink named like {@code mfdlive12345678}, and the kernel takes
 * the comm from the name that was executed. The script sets up what the test
 * needs, prints a line starting with "ready" and blocks reading stdin; closing
 * the child closes stdin, waits for it to exit (reaping it) and removes the link.
 */
final class PythonChild implements AutoCloseable {
    private static final long EXIT_TIMEOUT_SECONDS = 10;

    private final Process process;
    private final Path link;
    private final String comm;
    private final String readyLine;

    private PythonChild(Process process, Path link, String comm, String readyLine) {
        this.process = process;
        this.link = link;
        this.comm = comm;
        this.readyLine = readyLine;
    }

    /** A comm no other process on the host has, 15 bytes at most, starting with "mfdlive". */
    static String uniqueComm() {
        return CommThreads.uniqueComm("mfdlive");
    }

    /** Starts {@code script} (python3 -c) with {@code args} and waits for its "ready" line. */
    static PythonChild start(String script, String... args) throws IOException {
        String comm = uniqueComm();
        Path link = Files.createTempDirectory("mfdlive").resolve(comm);
        Files.createSymbolicLink(link, interpreter());
        List<String> command = new ArrayList<>(List.of(link.toString(), "-c", script));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        PythonChild child = new PythonChild(process, link, comm, readLine(process));
        if (!child.readyLine.startsWith("ready")) {
            child.close();
            throw new IOException("child " + comm + " did not get ready, it said: " + child.readyLine);
        }
        return child;
    }

    String comm() {
        return comm;
    }

    private static Path interpreter() throws IOException {
        try {
            return Python.interpreter();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while looking for python3", e);
        }
    }

    long pid() {
        return process.pid();
    }

    /** The words the script printed after "ready". */
    String[] readyWords() {
        return readyLine.split(" ");
    }

    /** Closes stdin, which ends the script, and reaps it; kills it if it does not end in time. */
    @Override
    public void close() throws IOException {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            Files.deleteIfExists(link);
            Files.deleteIfExists(link.getParent());
        }
    }

    private static String readLine(Process process) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        return line == null ? "(nothing: exit status " + waitQuietly(process) + ")" : line;
    }

    private static int waitQuietly(Process process) {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
