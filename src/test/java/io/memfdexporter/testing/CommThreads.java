package io.memfdexporter.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Runs work on fresh threads renamed (prctl PR_SET_NAME) to a chosen comm. */
public final class CommThreads {
    private CommThreads() {
    }

    /** Runs {@code work} on a thread whose comm is exactly {@code comm} (at most 15 bytes, no NUL). */
    public static void runAs(byte[] comm, Runnable work) {
        runAllAs(List.of(new Task(comm, work)));
    }

    public static void runAs(String comm, Runnable work) {
        runAs(comm.getBytes(StandardCharsets.UTF_8), work);
    }

    /** One thread per task, all started together; rethrows the first failure. */
    public static void runAllAs(List<Task> tasks) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (Task task : tasks) {
            if (task.comm.length > 15) {
                throw new IllegalArgumentException("a comm holds at most 15 bytes");
            }
            byte[] name = java.util.Arrays.copyOf(task.comm, task.comm.length + 1);
            Thread thread = new Thread(() -> {
                try {
                    if (TestLibC.INSTANCE.prctl(TestLibC.PR_SET_NAME, name, 0, 0, 0) != 0) {
                        throw new IllegalStateException("prctl(PR_SET_NAME) failed: errno " + TestLibC.lastErrno());
                    }
                    task.work.run();
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            });
            threads.add(thread);
        }
        threads.forEach(Thread::start);
        for (Thread thread : threads) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        if (failure.get() != null) {
            throw new AssertionError("a comm thread failed", failure.get());
        }
    }

    public record Task(byte[] comm, Runnable work) {
        public Task(String comm, Runnable work) {
            this(comm.getBytes(StandardCharsets.UTF_8), work);
        }
    }

    /** Makes {@code n} successful memfd_create calls with {@code flags}. */
    public static Runnable calls(int n, int flags) {
        return () -> {
            for (int i = 0; i < n; i++) {
                int errno = TestLibC.memfdCreateAndClose("t", flags);
                if (errno != 0) {
                    throw new IllegalStateException("memfd_create failed: errno " + errno);
                }
            }
        };
    }

    /** A comm no other test or process uses: prefix plus random digits, 15 bytes at most. */
    public static String uniqueComm(String prefix) {
        String suffix = String.format("%09d", System.nanoTime() % 1_000_000_000L); // fixed width: callers may cut it
        String comm = prefix + suffix;
        return comm.length() <= 15 ? comm : comm.substring(0, 15);
    }
}
