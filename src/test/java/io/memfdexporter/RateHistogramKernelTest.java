package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * The per-process one-second rate histogram: windows are recorded when the
 * next window starts, when the process exits, or, when it went idle, at the
 * next scrape; no per-process state outlives the process. The histogram is
 * host-wide, so exact assertions are made on buckets that other processes on
 * a test host (container runtimes, other builds) do not reach.
 */
@ExtendWith(RequiresBpf.class)
class RateHistogramKernelTest {
    private static final String HISTOGRAM = "memfd_create_calls_per_process_second";

    private static Exporter start() {
        return Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)));
    }

    @Test
    void aBurstOf5000CallsFromAnExitingProcessIsOneObservationIn4096To8192() throws Exception {
        try (Exporter exporter = start()) {
            Exposition before = Http.scrape(exporter.port());
            Python.named(uniqueComm("mfdburst")).run(
                    "import os; [os.close(os.memfd_create('x', os.MFD_CLOEXEC)) for _ in range(5000)]");
            Exposition after = Http.scrape(exporter.port());

            assertEquals(1, inBucket(before, after, 8192), "one window in (4096, 8192]");
            assertEquals(0, delta(before, after, HISTOGRAM + "_bucket", "le", "+Inf")
                    - delta(before, after, HISTOGRAM + "_bucket", "le", "8192.0"), "none above");
            assertTrue(delta(before, after, HISTOGRAM + "_sum") >= 5000);
            assertEquals(before.value("memfd_exporter_bpf_map_entries", "map", "rate_windows"),
                    after.value("memfd_exporter_bpf_map_entries", "map", "rate_windows"), "the exited process left no state");
            assertEquals(0, after.value("memfd_create_unrecorded_total", "map", "rate_windows"));
        }
    }

    @Test
    void anIdleProcessesLastWindowIsRecordedByTheNextScrapeAndOnlyOnce() throws Exception {
        try (Exporter exporter = start()) {
            Exposition before = Http.scrape(exporter.port());
            // This JVM stays alive: only the scrape-time flush can record its window.
            CommThreads.runAs(uniqueComm("mfdidle"), calls(300, TestLibC.MFD_CLOEXEC));
            new CountDownLatch(1).await(1100, TimeUnit.MILLISECONDS); // the window closes after 1 s
            Exposition afterWindow = Http.scrape(exporter.port());
            Exposition again = Http.scrape(exporter.port());

            assertEquals(1, inBucket(before, afterWindow, 512), "one window in (256, 512]");
            assertTrue(delta(before, afterWindow, HISTOGRAM + "_sum") >= 300);
            assertEquals(0, inBucket(afterWindow, again, 512), "flushed once");
        }
    }

    @Test
    void callsInTwoSecondsAreTwoWindows() throws Exception {
        try (Exporter exporter = start()) {
            Exposition before = Http.scrape(exporter.port());
            Python.named(uniqueComm("mfdtwo")).run("""
                    import os, time
                    for _ in range(700): os.close(os.memfd_create('x'))
                    time.sleep(1.2)
                    for _ in range(3000): os.close(os.memfd_create('x'))
                    """);
            Exposition after = Http.scrape(exporter.port());

            assertEquals(1, inBucket(before, after, 1024), "700 calls: (512, 1024]");
            assertEquals(1, inBucket(before, after, 4096), "3000 calls: (2048, 4096]");
            assertEquals(0, inBucket(before, after, 2048), "no window merged or split");
            assertTrue(delta(before, after, HISTOGRAM + "_sum") >= 3700);
        }
    }

    /** New observations in the bucket (upperBound/2, upperBound]. */
    private static double inBucket(Exposition before, Exposition after, long upperBound) {
        return delta(before, after, HISTOGRAM + "_bucket", "le", upperBound + ".0")
                - delta(before, after, HISTOGRAM + "_bucket", "le", upperBound / 2 + ".0");
    }

    private static double delta(Exposition before, Exposition after, String name, String... labels) {
        return after.value(name, labels) - before.value(name, labels);
    }
}
