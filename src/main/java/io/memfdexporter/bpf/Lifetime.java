package io.memfdexporter.bpf;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The lifetime of one BPF object's native state (libbpf's object, its map and
 * program fds) as seen by the threads that read it. Every read holds a lease
 * (the read lock) for its whole duration; {@link #close} takes the write lock,
 * so it waits for the reads in flight, and every read after it is refused.
 * <p>
 * Without it a scrape running on an HTTP worker while SIGTERM closes the
 * object reads libbpf memory that {@code bpf_object__close} has freed (the JVM
 * crashed in 5 stops out of 10, issue 10), or an fd number that close released
 * and the process has meanwhile given to an unrelated file.
 */
final class Lifetime {
    private final String owner;
    /* Not fair: a waiting close still goes before new readers (the lock queues them behind a writer). */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /* Written under the write lock, read under either. */
    private boolean closed;
    /* Native state tied to this lifetime beside the object itself (mappings of its maps): freed first, under the write lock. */
    private final List<Runnable> releases = new ArrayList<>();

    Lifetime(String owner) {
        this.owner = owner;
    }

    /**
     * Runs a read of the native state, which close cannot free while it runs.
     *
     * @throws IllegalStateException when the state is already closed
     */
    <T> T use(Supplier<T> read) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("the BPF object " + owner + " is closed");
            }
            return read.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Creates native state that lives until close (a mapping of a map), and how to free it.
     *
     * @throws IllegalStateException when the state is already closed
     */
    <T> T acquire(Supplier<T> create, Function<T, Runnable> release) {
        lock.writeLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("the BPF object " + owner + " is closed");
            }
            T created = create.get();
            releases.add(release.apply(created));
            return created;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Frees the native state once no read runs any more, the first time only; later reads are refused. */
    void close(Runnable free) {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                releases.forEach(Runnable::run);
                free.run();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
