package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.memfdexporter.metrics.LiveMemfdCollector;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

/** The monitor scans on its own thread; scrapes only format its last result. */
class LiveMemfdMonitorTest {
    private static final String HOLDS_3_MIB = """
            import os, sys
            fd = os.memfd_create("held")
            os.write(fd, b"\\x01" * (3 << 20))
            print("ready", flush=True)
            sys.stdin.read()
            """;

    @BeforeEach
    void requireRoot() throws IOException {
        Privilege.requireRoot();
    }

    @Test
    void firstScanRunsAtStartAndScrapesExposeItWithoutScanningAgain() throws Exception {
        try (PythonChild child = PythonChild.start(HOLDS_3_MIB);
             LiveMemfdMonitor monitor = LiveMemfdMonitor.start(new LiveMemfdScanner(Long.MAX_VALUE), Duration.ofHours(1))) {
            LiveMemfdCollector collector = new LiveMemfdCollector(monitor, 200);
            awaitFirstScan(monitor);

            List<String> first = scrape(collector);
            List<String> second = scrape(collector);

            String comm = "{comm=\"" + child.comm() + "\"}";
            assertTrue(first.contains("memfd_live_files" + comm + " 1.0"), String.join("\n", first));
            assertTrue(first.contains("memfd_live_apparent_bytes" + comm + " 3145728.0"), String.join("\n", first));
            assertTrue(first.contains("memfd_exporter_live_scan_errors_total 0.0"), String.join("\n", first));
            assertEquals(3, first.stream()
                    .filter(line -> line.startsWith("memfd_exporter_live_skipped_processes{reason=")).count());
            // An hour between scans: both scrapes show the same scan, the one that ran at start.
            assertEquals(timestamp(first), timestamp(second));
        }
    }

    private static void awaitFirstScan(LiveMemfdMonitor monitor) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (monitor.latest().isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "no scan completed within 30 s");
            Thread.sleep(10);
        }
    }

    private static List<String> scrape(LiveMemfdCollector collector) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, collector.collect());
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    private static String timestamp(List<String> exposition) {
        return exposition.stream().filter(line -> line.startsWith("memfd_exporter_live_last_scan_timestamp_seconds "))
                .findFirst().orElseThrow();
    }
}
