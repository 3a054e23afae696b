package io.memfdexporter.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Cgroups a test makes, under one directory of its own in the host's cgroup v2
 * hierarchy, seen through a private mount namespace whose only cgroup2 mount is
 * at {@link MountNamespace#CGROUP2} (an exporter run with {@link #wrapper()} sees
 * the same). Closing it removes every cgroup it holds, children first (their
 * processes must have exited), then ends the namespace.
 */
public final class TestCgroups implements AutoCloseable {
    /** Python lines that move the running process into the cgroup directory given as sys.argv[1]. */
    public static final String JOIN_ARGV1 = """
            import os, sys
            with open(sys.argv[1] + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
            """;

    private final MountNamespace namespace;
    private final String top;

    private TestCgroups(MountNamespace namespace, String top) {
        this.namespace = namespace;
        this.top = top;
    }

    public static TestCgroups create(String prefix) throws IOException {
        MountNamespace namespace = MountNamespace.withOwnCgroup2();
        TestCgroups cgroups = new TestCgroups(namespace,
                "/" + prefix + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000);
        try {
            Files.createDirectory(cgroups.directory(cgroups.top));
        } catch (IOException | RuntimeException e) {
            namespace.close();
            throw e;
        }
        return cgroups;
    }

    /** This test's top cgroup, as the exporter names it ("/prefix-PID-N"). */
    public String top() {
        return top;
    }

    /** Makes the cgroup {@code top() + under} and its parents; returns its path as the exporter names it. */
    public String make(String under) throws IOException {
        String path = top + under;
        Files.createDirectories(directory(path));
        return path;
    }

    /** The directory of a cgroup path, reachable from this process. */
    public Path directory(String path) {
        return namespace.path(MountNamespace.CGROUP2 + path);
    }

    /** Prefix for ChildExporter: an exporter that sees cgroup2 only at {@link MountNamespace#CGROUP2}. */
    public List<String> wrapper() {
        return namespace.wrapper();
    }

    @Override
    public void close() throws IOException {
        try (Stream<Path> dirs = Files.walk(directory(top))) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(dir);
            }
        } finally {
            namespace.close();
        }
    }
}
