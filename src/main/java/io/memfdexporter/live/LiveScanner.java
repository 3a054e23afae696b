package io.memfdexporter.live;

import java.io.IOException;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfException;
import io.memfdexporter.bpf.BpfUnavailableException;

/**
 * Finds the memfds alive on the host, one way or another: by BPF iterators
 * ({@link LiveIteratorScanner}), or by walking /proc ({@link LiveMemfdScanner}),
 * the fallback where the kernel will not load or attach the iterators.
 * Not thread-safe: one scan at a time (the {@link LiveMemfdMonitor} thread).
 */
public sealed interface LiveScanner extends AutoCloseable permits LiveIteratorScanner, LiveMemfdScanner {

    /**
     * @throws java.io.InterruptedIOException when the thread is interrupted (the monitor is closing)
     * @throws IOException when the scan fails as a whole
     */
    LiveScan scan() throws IOException;

    LiveScan.Method method();

    /** Releases what the scanner holds in the kernel (the iterators' links). */
    @Override
    void close();

    /** What --collector.live.method asks for. */
    enum Choice {
        AUTO, BPF_ITERATOR, PROC
    }

    /**
     * The scanner the choice names; {@link Choice#AUTO} prefers the iterators
     * and falls back to /proc when the kernel refuses them, saying why, once.
     * The method chosen is for the caller to log once the exporter runs: a
     * start that fails says only why.
     *
     * @throws BpfUnavailableException when the iterators were asked for and cannot be had
     */
    static LiveScanner choose(Choice choice, long maxFds) {
        Logger log = Logger.getLogger(LiveScanner.class.getName());
        if (choice == Choice.PROC) {
            return new LiveMemfdScanner(maxFds);
        }
        try {
            return LiveIteratorScanner.attach(maxFds);
        } catch (BpfUnavailableException | BpfException e) {
            if (choice == Choice.BPF_ITERATOR) {
                throw new BpfUnavailableException("--collector.live.method=bpf-iterator: the BPF iterators cannot be"
                        + " attached: " + e.getMessage());
            }
            log.warning("live memfd scans walk /proc: the kernel refused the BPF iterators (" + e.getMessage()
                    + "); the /proc scan needs root or CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE"
                    + " for the exporter's whole life");
            return new LiveMemfdScanner(maxFds);
        }
    }
}
