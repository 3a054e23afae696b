package io.memfdexporter.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server the tests run as a child process (Prometheus, Alertmanager), its
 * output in a log file. Closing it sends SIGTERM, then SIGKILL after 10 s, and
 * reaps it.
 */
public final class ServerProcess implements AutoCloseable {
    private static final long READY_TIMEOUT_SECONDS = 60;

    private final String name;
    private final Process process;
    private final Path log;
    private final int port;

    private ServerProcess(String name, Process process, Path log, int port) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** A port that was free on 127.0.0.1 a moment ago, for servers that cannot report the one they bound. */
    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Starts the command and waits until GET 127.0.0.1:port/readyPath answers 200. */
    public static ServerProcess start(String name, List<String> command, Path log, int port, String readyPath)
            throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        ServerProcess server = new ServerProcess(name, process, log, port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_TIMEOUT_SECONDS);
        while (true) {
            if (!process.isAlive()) {
                server.close();
                throw new AssertionError(name + " exited with " + process.exitValue() + ":\n" + server.logTail());
            }
            try {
                if (Http.get(port, readyPath, null).statusCode() == 200) {
                    return server;
                }
            } catch (UncheckedIOException notListeningYet) {
                // retried below
            }
            if (System.nanoTime() > deadline) {
                server.close();
                throw new AssertionError(name + " was not ready in " + READY_TIMEOUT_SECONDS + " s:\n" + server.logTail());
            }
            Thread.sleep(100);
        }
    }

    public int port() {
        return port;
    }

    /** The last lines of the server's output, for failure messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return name + " log:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return name + " log unreadable: " + e;
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
