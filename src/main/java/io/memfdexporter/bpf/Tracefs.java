package io.memfdexporter.bpf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * Makes tracefs available where libbpf 1.x looks for tracepoint ids while
 * programs are attached. libbpf prefers {@code /sys/kernel/debug/tracing} when
 * it exists and otherwise uses {@code /sys/kernel/tracing}. If neither has
 * tracefs, it is mounted at {@code /sys/kernel/tracing}, and unmounted again
 * on {@link #close()}: attached tracepoints do not need it to stay mounted.
 */
public final class Tracefs implements AutoCloseable {
    static final Path DEBUGFS_TRACING = Path.of("/sys/kernel/debug/tracing");
    public static final Path TRACING = Path.of("/sys/kernel/tracing");
    private static final Logger LOG = Logger.getLogger(Tracefs.class.getName());

    private final Native nat;
    private final Path root;
    private final boolean mountedHere;

    private Tracefs(Native nat, Path root, boolean mountedHere) {
        this.nat = nat;
        this.root = root;
        this.mountedHere = mountedHere;
    }

    /** @throws BpfUnavailableException when tracefs is absent and cannot be mounted */
    public static Tracefs ensureMounted(Native nat) {
        if (Files.exists(DEBUGFS_TRACING)) {
            return new Tracefs(nat, DEBUGFS_TRACING, false);
        }
        // stat(2)-based checks (not access(2), which ignores a non-root process's capabilities):
        // tracefs is mode 0700 root, a service user reads it with CAP_DAC_READ_SEARCH.
        if (Files.isDirectory(TRACING.resolve("events"))) {
            return new Tracefs(nat, TRACING, false);
        }
        if (nat.libc().mount("nodev", TRACING.toString(), "tracefs", 0, null) != 0) {
            int errno = nat.lastLibcErrno();
            throw new BpfUnavailableException("tracefs is not mounted at " + TRACING + " and mounting it failed with "
                    + Errnos.describe(errno) + ": run 'mount -t tracefs nodev " + TRACING
                    + "' as root (containers: bind-mount the host's " + TRACING + ")");
        }
        LOG.fine(() -> "mounted tracefs at " + TRACING);
        return new Tracefs(nat, TRACING, true);
    }

    public Path root() {
        return root;
    }

    /** @throws MissingTracepointException when the kernel has no such tracepoint */
    public void requireTracepoint(String category, String name) {
        if (!Files.isRegularFile(root.resolve("events").resolve(category).resolve(name).resolve("id"))) {
            throw new MissingTracepointException("the kernel has no tracepoint " + category + ":" + name + " (no "
                    + root.resolve("events").resolve(category).resolve(name)
                    + "); syscall tracepoints need CONFIG_FTRACE_SYSCALLS=y");
        }
    }

    @Override
    public void close() {
        if (mountedHere && nat.libc().umount2(root.toString(), 0) != 0) {
            LOG.warning("could not unmount tracefs at " + root + ": " + Errnos.describe(nat.lastLibcErrno()));
        } else if (mountedHere) {
            LOG.fine(() -> "unmounted tracefs at " + root);
        }
    }
}
