package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * next scrape; no per-process state outlives the process.
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

            assertEquals(1, delta(before, after, HISTOGRAM + "_count"), "one window");
            assertEquals(5000, delta(before, after, HISTOGRAM + "_sum"));
            assertEquals(0, delta(before, after, HISTOGRAM + "_bucket", "le", "4096.0"));
            assertEquals(1, delta(before, after, HISTOGRAM + "_bucket", "le", "8192.0"));
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

            assertEquals(1, delta(before, afterWindow, HISTOGRAM + "_count"));
            assertEquals(300, delta(before, afterWindow, HISTOGRAM + "_sum"));
            assertEquals(1, delta(before, afterWindow, HISTOGRAM + "_bucket", "le", "512.0")
                    - delta(before, afterWindow, HISTOGRAM + "_bucket", "le", "256.0"), "in (256, 512]");
            assertEquals(afterWindow.value(HISTOGRAM + "_count"), again.value(HISTOGRAM + "_count"), "flushed once");
        }
    }

    @Test
    void callsInTwoSecondsAreTwoWindows() throws Exception {
        try (Exporter exporter = start()) {
            Exposition before = Http.scrape(exporter.port());
            Python.named(uniqueComm("mfdtwo")).run("""
                    import os, time
                    for _ in range(10): os.close(os.memfd_create('x'))
                    time.sleep(1.2)
                    for _ in range(40): os.close(os.memfd_create('x'))
                    """);
            Exposition after = Http.scrape(exporter.port());

            assertEquals(2, delta(before, after, HISTOGRAM + "_count"));
            assertEquals(50, delta(before, after, HISTOGRAM + "_sum"));
            assertEquals(1, delta(before, after, HISTOGRAM + "_bucket", "le", "16.0")
                    - delta(before, after, HISTOGRAM + "_bucket", "le", "8.0"), "10 calls: (8, 16]");
            assertEquals(1, delta(before, after, HISTOGRAM + "_bucket", "le", "64.0")
                    - delta(before, after, HISTOGRAM + "_bucket", "le", "32.0"), "40 calls: (32, 64]");
        }
    }

    private static double delta(Exposition before, Exposition after, String name, String... labels) {
        return after.value(name, labels) - before.value(name, labels);
    }
}
