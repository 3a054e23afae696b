package io.memfdexporter.live;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

import io.memfdexporter.probe.CommKey;

/**
 * Finds the memfds alive on the host by walking /proc: those held by an fd
 * ({@code /proc/PID/fd/N} links to {@code /memfd:NAME (deleted)}) and those
 * only mapped after their fd was closed ({@code /proc/PID/maps} lines, statted
 * through {@code /proc/PID/map_files/START-END}). The path only preselects:
 * any file can be named {@code /memfd:NAME}, so a file counts when it is on
 * one of the kernel's own memfd file systems ({@link MemfdFileSystems},
 * learned at construction) and has no name in any directory.
 *
 * <p>Each memfd counts once however many processes hold or map it, keyed by
 * device and inode. It is attributed to the lowest pid holding it: pids are
 * examined in ascending order and the first holder found keeps it. A process
 * that exits during the scan is dropped; memfds it shared are found under
 * their other holders.
 *
 * <p>Threads that unshared their fd table (clone without CLONE_FILES) are not
 * examined: only each process's main fd table and address space are.
 *
 * <p>Not thread-safe: one scan at a time (the {@link LiveMemfdMonitor} thread).
 */
public final class LiveMemfdScanner implements LiveScanner {
    private static final Logger LOG = Logger.getLogger(LiveMemfdScanner.class.getName());
    private static final Path PROC = Path.of("/proc");

    private final Statx statx;
    private final MemfdFileSystems memfdFileSystems;
    private final long maxFds;

    /**
     * @param maxFds fds examined per scan at most; processes beyond are skipped, counted as {@link LiveScan.Skip#BUDGET}
     * @throws UnsatisfiedLinkError when libc has no statx (glibc older than 2.28)
     * @throws UncheckedIOException when this process cannot create a memfd to learn where memfds live
     */
    public LiveMemfdScanner(long maxFds) {
        if (maxFds < 1) {
            throw new IllegalArgumentException("maxFds must be positive, got " + maxFds);
        }
        this.statx = Statx.load();
        try {
            this.memfdFileSystems = MemfdFileSystems.learn(statx);
        } catch (IOException e) {
            throw new UncheckedIOException("live memfd scan: " + e.getMessage() + " (or run with --no-collector.live)", e);
        }
        this.maxFds = maxFds;
    }

    /**
     * @throws InterruptedIOException when the thread is interrupted (the monitor is closing)
     * @throws IOException when /proc itself cannot be listed; a process that cannot be read is counted as skipped
     */
    @Override
    public LiveScan scan() throws IOException {
        long started = System.nanoTime();
        Pass pass = new Pass();
        for (int pid : pids()) {
            // Interruption closes the channel of a /proc read in progress: stop rather than count every
            // remaining process as an error.
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException("live memfd scan interrupted");
            }
            pass.examine(pid);
        }
        return pass.result((System.nanoTime() - started) / 1e9, System.currentTimeMillis() / 1e3);
    }

    @Override
    public LiveScan.Method method() {
        return LiveScan.Method.PROC;
    }

    /** Holds nothing to release. */
    @Override
    public void close() {
    }

    private static int[] pids() throws IOException {
        try (Stream<Path> entries = Files.list(PROC)) {
            return entries.map(entry -> entry.getFileName().toString())
                    .filter(name -> !name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9'))
                    .mapToInt(Integer::parseInt)
                    .sorted()
                    .toArray();
        }
    }

    /** A memfd and the comm of the process it is attributed to. */
    private record Held(CommKey comm, Statx.Result file) {
    }

    /** The state of one scan. */
    private final class Pass {
        private final Map<FileId, Held> held = new HashMap<>();
        private final Map<LiveScan.Skip, Integer> skipped = new EnumMap<>(LiveScan.Skip.class);
        private int processes;
        private long fds;

        void examine(int pid) {
            if (fds >= maxFds) {
                skipped.merge(LiveScan.Skip.BUDGET, 1, Integer::sum);
                return;
            }
            Holdings holdings = new Holdings(pid);
            LiveScan.Skip skip = null;
            try {
                if (examineFds(holdings)) {
                    examineMappings(holdings);
                } else {
                    skip = LiveScan.Skip.BUDGET;
                }
            } catch (IOException e) {
                if (e instanceof NoSuchFileException || !Files.exists(holdings.dir)) {
                    return;
                }
                skip = e instanceof AccessDeniedException ? LiveScan.Skip.DENIED : LiveScan.Skip.ERROR;
                LOG.log(Level.FINE, e, () -> "live memfd scan: cannot fully read pid " + pid);
            }
            // What was found before a refusal or the end of the budget is real: keep it.
            holdings.found.values().forEach(file -> held.put(file.file(), new Held(holdings.comm, file)));
            if (skip == null) {
                processes++;
            } else {
                skipped.merge(skip, 1, Integer::sum);
            }
        }

        /** @return false when the fd budget ran out inside this process */
        private boolean examineFds(Holdings holdings) throws IOException {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(holdings.dir.resolve("fd"))) {
                for (Path fd : entries) {
                    if (fds >= maxFds) {
                        return false;
                    }
                    fds++;
                    examineFd(holdings, fd);
                }
            } catch (DirectoryIteratorException e) {
                throw e.getCause();
            }
            return true;
        }

        private void examineFd(Holdings holdings, Path fd) throws IOException {
            try {
                if (Files.readSymbolicLink(fd).toString().startsWith(MemfdMapping.PATH_PREFIX)) {
                    holdings.add(statx.stat(fd.toString()));
                }
            } catch (NoSuchFileException e) {
                // Closed since the directory was listed: normal on a busy host.
            }
        }

        private void examineMappings(Holdings holdings) throws IOException {
            Path maps = holdings.dir.resolve("maps");
            try (BufferedReader lines = Files.newBufferedReader(maps, StandardCharsets.ISO_8859_1)) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    MemfdMapping mapping = MemfdMapping.parse(line).orElse(null);
                    // A file elsewhere than the memfd file systems needs no statx; nor does a memfd mapped many
                    // times, or also held by an fd.
                    if (mapping == null || !memfdFileSystems.contains(mapping.file()) || held.containsKey(mapping.file())
                            || holdings.found.containsKey(mapping.file())) {
                        continue;
                    }
                    try {
                        Statx.Result file = statx.stat(holdings.dir + "/map_files/" + mapping.range());
                        // The range may have been unmapped and reused for another file since maps was read.
                        if (file.file().equals(mapping.file())) {
                            holdings.add(file);
                        }
                    } catch (NoSuchFileException e) {
                        // Unmapped since maps was read.
                    }
                }
            }
        }

        LiveScan result(double durationSeconds, double finishedAtSeconds) {
            Map<CommKey, LiveScan.Usage> byComm = new HashMap<>();
            held.values().forEach(h -> byComm.merge(h.comm(),
                    new LiveScan.Usage(1, h.file().allocatedBytes(), h.file().apparentBytes()), LiveScan.Usage::plus));
            return new LiveScan(LiveScan.Method.PROC, byComm, Optional.empty(), Optional.empty(), processes, fds, skipped,
                    durationSeconds, finishedAtSeconds);
        }

        /** The memfds first found in one process. */
        private final class Holdings {
            final Path dir;
            final Map<FileId, Statx.Result> found = new HashMap<>();
            /** Read when the first memfd is found: most processes hold none. */
            CommKey comm;

            Holdings(int pid) {
                this.dir = PROC.resolve(Integer.toString(pid));
            }

            void add(Statx.Result file) throws IOException {
                // A memfd is on the kernel's memfd file systems and has no name in any directory; anything
                // else is a file merely named /memfd:..., or an fd number or a range reused for another file
                // between readlink (or reading maps) and statx.
                if (!memfdFileSystems.contains(file.file()) || file.links() != 0 || held.containsKey(file.file())) {
                    return;
                }
                if (comm == null) {
                    comm = readComm();
                }
                found.put(file.file(), file);
            }

            /** /proc/PID/comm: the main thread's comm, as the kernel keeps it, and a newline. */
            private CommKey readComm() throws IOException {
                byte[] line = Files.readAllBytes(dir.resolve("comm"));
                int length = line.length > 0 && line[line.length - 1] == '\n' ? line.length - 1 : line.length;
                return new CommKey(Arrays.copyOf(line, length));
            }
        }
    }
}
