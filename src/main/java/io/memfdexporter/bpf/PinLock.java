package io.memfdexporter.bpf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * This process's exclusive hold on a {@code --bpf.pin-path} directory: an
 * {@code flock(LOCK_EX)} on the directory itself (bpffs holds no regular
 * files, so there is no lock file), taken before anything is pinned or
 * removed there and held until {@link #close()}. Without it two exporters
 * started at once on one directory each remove the other's partial state as
 * stale, and {@code --bpf.unpin} can pull the pins from under a running
 * exporter. The kernel drops the lock when the process dies, however it dies.
 */
public final class PinLock implements AutoCloseable {
    /* <fcntl.h>, <sys/file.h> (x86-64 and arm64) */
    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0x10000;
    private static final int O_CLOEXEC = 0x80000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    /* Times to retry when the directory was removed and made again between open and flock. */
    private static final int ATTEMPTS = 3;

    private final Native nat;
    private int fd;

    private PinLock(Native nat, int fd) {
        this.nat = nat;
        this.fd = fd;
    }

    /**
     * Locks an existing directory without waiting.
     *
     * @param recreate makes the directory again if it was removed meanwhile (by the holder of the lock)
     * @throws BpfUnavailableException when another process holds it, naming the directory
     */
    static PinLock acquire(Native nat, Path dir, Runnable recreate) {
        for (int attempt = 1; ; attempt++) {
            int fd = nat.libc().open(dir.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                throw new BpfUnavailableException("--bpf.pin-path: cannot open " + dir + ": "
                        + Errnos.describe(nat.lastLibcErrno()));
            }
            if (nat.libc().flock(fd, LOCK_EX | LOCK_NB) != 0) {
                int errno = nat.lastLibcErrno();
                nat.libc().close(fd);
                if (errno == Errnos.EAGAIN) {
                    throw new BpfUnavailableException("--bpf.pin-path " + dir + " is in use by another memfd_exporter"
                            + " (or its --bpf.unpin): run one exporter per directory");
                }
                throw new BpfUnavailableException("--bpf.pin-path: cannot lock " + dir + ": " + Errnos.describe(errno));
            }
            // Between open and flock the previous holder (--bpf.unpin) may have removed the directory: a lock
            // on it would guard nothing, and the path needs a new one.
            if (isStill(dir, fd)) {
                return new PinLock(nat, fd);
            }
            nat.libc().close(fd);
            if (attempt == ATTEMPTS) {
                throw new BpfUnavailableException("--bpf.pin-path " + dir + " is removed and made again by another"
                        + " process while this one tries to lock it");
            }
            recreate.run();
        }
    }

    /**
     * Runs a short step that other processes must not interleave with their
     * own, under a lock on an existing directory, waiting for it if need be.
     */
    static void whileHolding(Native nat, Path dir, Runnable step) {
        int fd = nat.libc().open(dir.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            throw new BpfUnavailableException("cannot open " + dir + ": " + Errnos.describe(nat.lastLibcErrno()));
        }
        try {
            if (nat.libc().flock(fd, LOCK_EX) != 0) {
                throw new BpfUnavailableException("cannot lock " + dir + ": " + Errnos.describe(nat.lastLibcErrno()));
            }
            step.run();
        } finally {
            nat.libc().close(fd);
        }
    }

    private static boolean isStill(Path dir, int fd) {
        try {
            return Files.isSameFile(dir, Path.of("/proc/self/fd/" + fd));
        } catch (NoSuchFileException removed) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Releases the directory. */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            nat.libc().close(fd);
            fd = -1;
        }
    }
}
