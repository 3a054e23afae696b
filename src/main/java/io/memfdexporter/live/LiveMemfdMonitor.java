package io.memfdexporter.live;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs the scanner on a daemon thread of its own, because a scan costs time
 * in proportion to the fds on the host and a scrape must not wait for it:
 * scrapes read {@link #latest()}, the last completed scan.
 *
 * <p>The monitor owns its scanner: closing it closes the scanner.
 *
 * <p>Scans never overlap: one thread runs them, and each starts an interval
 * after the previous one ended, so on a host where scans are slow the
 * exporter scans less often instead of back to back.
 */
public final class LiveMemfdMonitor implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LiveMemfdMonitor.class.getName());
    /* A scan checks for interruption before each process: it stops within one process's fds. */
    private static final long STOP_TIMEOUT_SECONDS = 10;

    private final LiveScanner scanner;
    private final Duration interval;
    private final ScheduledExecutorService executor;
    private final AtomicLong scanErrors = new AtomicLong();
    private volatile LiveScan latest;
    /* Touched only by the scan thread. */
    private boolean warnedDenied;

    private LiveMemfdMonitor(LiveScanner scanner, Duration interval) {
        this.scanner = scanner;
        this.interval = interval;
        this.executor = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "live-memfd-scan");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** A monitor that scans with {@code scanner} once {@link #start()}ed, {@code interval} after each scan ends. */
    public static LiveMemfdMonitor create(LiveScanner scanner, Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive, got " + interval);
        }
        return new LiveMemfdMonitor(scanner, interval);
    }

    /** Starts scanning now, then {@code interval} after each scan ends. */
    public static LiveMemfdMonitor start(LiveScanner scanner, Duration interval) {
        return create(scanner, interval).start();
    }

    /**
     * Starts the scans. Until then the scanner is the caller's to use on its
     * own thread (the exporter tries a scan without privileges before dropping them).
     */
    public LiveMemfdMonitor start() {
        executor.scheduleWithFixedDelay(this::scanOnce, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
        return this;
    }

    /**
     * Runs one scan on the calling thread, before {@link #start()}: its
     * result is {@link #latest()} until the first scheduled scan completes.
     *
     * @throws UncheckedIOException when the scan fails
     */
    public void scanNow() {
        try {
            latest = scanner.scan();
        } catch (IOException e) {
            throw new UncheckedIOException("live memfd scan: " + e.getMessage(), e);
        }
    }

    /** How the scans find memfds. */
    public LiveScan.Method method() {
        return scanner.method();
    }

    private void scanOnce() {
        // An exception escaping a scheduled task would silently cancel every later scan: count it instead.
        try {
            LiveScan scan = scanner.scan();
            latest = scan;
            LOG.fine(() -> String.format("live memfd scan: %d processes, %d fds, skipped %s, %.3f s",
                    scan.processes(), scan.fds(), scan.skippedProcesses(), scan.durationSeconds()));
            if (!warnedDenied && scan.skippedProcesses().containsKey(LiveScan.Skip.DENIED)) {
                warnedDenied = true;
                LOG.warning(() -> "live memfd scan was refused access to " + scan.skippedProcesses().get(LiveScan.Skip.DENIED)
                        + " process(es) and may miss their memfds (--log.level=debug names them); outside root it"
                        + " needs CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE");
            }
        } catch (IOException | RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            scanErrors.incrementAndGet();
            LOG.log(Level.WARNING, "live memfd scan failed; the previous scan's result stays exposed", e);
        }
    }

    /** The last completed scan; empty until the first one completes. */
    public Optional<LiveScan> latest() {
        return Optional.ofNullable(latest);
    }

    /** Scans that failed as a whole. */
    public long scanErrors() {
        return scanErrors.get();
    }

    /**
     * Stops scanning: a scan in progress is interrupted, and has ended when
     * this returns; then closes the scanner (unless the scan would not stop:
     * the scanner is then left to the process's exit).
     */
    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                LOG.warning("the live memfd scan did not stop within " + STOP_TIMEOUT_SECONDS + " s");
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        scanner.close();
    }
}
