package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import io.memfdexporter.metrics.CommLabel;
import io.memfdexporter.metrics.LiveMemfdCollector;
import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.RequiresBpf;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

/** The monitor scans on its own thread, with each method; scrapes only format its last result. */
@ParameterizedClass
@EnumSource(LiveScan.Method.class)
@ExtendWith(RequiresBpf.class)
class LiveMemfdMonitorTest {
    @Parameter
    LiveScan.Method method;

    private static final String HOLDS_3_MIB = """
            import os, sys
            fd = os.memfd_create("held")
            os.write(fd, b"\\x01" * (3 << 20))
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /** argv[1] children, each renamed argv[2] + its index, each holding a memfd of (index + 1) pages. */
    private static final String CHILDREN_HOLD_ONE_EACH = """
            import os, sys
            count, prefix = int(sys.argv[1]), sys.argv[2]
            ready, done = os.pipe()
            children = []
            for i in range(count):
                pid = os.fork()
                if pid == 0:
                    with open("/proc/self/comm", "w") as comm:
                        comm.write(prefix + str(i))
                    fd = os.memfd_create("held")
                    os.write(fd, b"\\x01" * (4096 * (i + 1)))
                    os.write(done, b"x")
                    while os.read(0, 4096):
                        pass
                    os._exit(0)
                children.append(pid)
            got = 0
            while got < count:
                got += len(os.read(ready, count - got))
            print("ready", flush=True)
            sys.stdin.read()
            for pid in children:
                os.waitpid(pid, 0)
            """;

    /** Three sparse memfds of 2^63 - 1 bytes each: their apparent sizes add up past 2^64. */
    private static final String HOLDS_THREE_HUGE = """
            import os, sys
            fds = [os.memfd_create("huge") for _ in range(3)]
            for fd in fds:
                os.ftruncate(fd, (1 << 63) - 1)
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
             LiveMemfdMonitor monitor = LiveMemfdMonitor.start(LiveMemfdScannerTest.scanner(method, Long.MAX_VALUE), Duration.ofHours(1))) {
            LiveMemfdCollector collector = new LiveMemfdCollector(monitor, CgroupPaths.ofThisHost(), 200);
            awaitFirstScan(monitor);

            List<String> first = scrape(collector);
            List<String> second = scrape(collector);

            String comm = "{comm=\"" + child.comm() + "\"}";
            assertTrue(first.contains("memfd_live_files" + comm + " 1.0"), String.join("\n", first));
            assertTrue(first.contains("memfd_live_apparent_bytes" + comm + " 3145728.0"), String.join("\n", first));
            assertTrue(first.contains("memfd_exporter_live_scan_errors_total 0.0"), String.join("\n", first));
            assertEquals(3, first.stream()
                    .filter(line -> line.startsWith("memfd_exporter_live_skipped_processes{reason=")).count());
            assertTrue(first.contains("memfd_exporter_live_scan_method{method=\"" + method.label() + "\"} 1.0"),
                    String.join("\n", first));
            // An hour between scans: both scrapes show the same scan, the one that ran at start.
            assertEquals(timestamp(first), timestamp(second));
        }
    }

    /** A comm's sums are u64s that stop at 2^64 - 1: never a wrapped, negative gauge. */
    @Test
    void apparentSizesPast2To64SaturateInsteadOfWrapping() throws Exception {
        try (PythonChild child = PythonChild.start(HOLDS_THREE_HUGE);
             LiveMemfdMonitor monitor = LiveMemfdMonitor.start(LiveMemfdScannerTest.scanner(method, Long.MAX_VALUE), Duration.ofHours(1))) {
            LiveMemfdCollector collector = new LiveMemfdCollector(monitor, CgroupPaths.ofThisHost(), 200);
            awaitFirstScan(monitor);
            Exposition text = Exposition.parse(String.join("\n", scrape(collector)));

            assertEquals(3, text.value("memfd_live_files", "comm", child.comm()));
            assertEquals(1.8446744073709552E19, text.value("memfd_live_apparent_bytes", "comm", child.comm()));
            assertEquals(0, text.value("memfd_live_allocated_bytes", "comm", child.comm()));
        }
    }

    /** 300 holders with distinct comms, 20 series per family: the 20 holding most, the rest in (other), sums exact. */
    @Test
    void threeHundredHoldersExportTwentySeriesAndOtherWithExactSums() throws Exception {
        String prefix = CommThreads.uniqueComm("m").substring(0, 10) + "_";
        try (PythonChild parent = PythonChild.start(CHILDREN_HOLD_ONE_EACH, "300", prefix);
             LiveMemfdMonitor monitor = LiveMemfdMonitor.start(LiveMemfdScannerTest.scanner(method, Long.MAX_VALUE), Duration.ofHours(1))) {
            LiveMemfdCollector collector = new LiveMemfdCollector(monitor, CgroupPaths.ofThisHost(), 20);
            awaitFirstScan(monitor);
            LiveScan scan = monitor.latest().orElseThrow();
            Exposition text = Exposition.parse(String.join("\n", scrape(collector)));

            Map<String, LiveScan.Usage> byLabel = new HashMap<>();
            scan.byComm().forEach((comm, usage) -> byLabel.merge(CommLabel.of(comm), usage, LiveScan.Usage::plus));
            long ours = byLabel.keySet().stream().filter(label -> label.startsWith(prefix)).count();
            assertEquals(300, ours, "the scan saw every child");
            Map<String, ToLongFunction<LiveScan.Usage>> families = Map.of("memfd_live_files", LiveScan.Usage::files,
                    "memfd_live_allocated_bytes", LiveScan.Usage::allocatedBytes,
                    "memfd_live_apparent_bytes", LiveScan.Usage::apparentBytes);
            families.forEach((family, value) -> {
                assertEquals(21, text.family(family).size(), family + ": 20 comms and (other)");
                assertEquals(byLabel.values().stream().mapToLong(value).sum(), (long) text.sum(family), family + " sums exactly");
                assertEquals(byLabel.size() - 20, text.value("memfd_exporter_folded_comms", "family", family));
            });
            // The 20 shown hold the most: none folded holds more than the least shown.
            double leastShown = text.family("memfd_live_allocated_bytes").stream()
                    .filter(sample -> !sample.labels().get("comm").equals("(other)")).mapToDouble(Exposition.Sample::value).min().orElseThrow();
            byLabel.forEach((label, usage) -> {
                if (text.value("memfd_live_files", "comm", label) == 0) {
                    assertTrue(usage.allocatedBytes() <= leastShown, label + " holds " + usage + " but is folded");
                }
            });
            // Children 0..279 hold less than 280 pages: folded, whatever else the host holds.
            assertTrue(text.value("memfd_live_files", "comm", "(other)") >= 280);
            for (int i = 0; i < 280; i++) {
                assertEquals(0, text.value("memfd_live_files", "comm", prefix + i), prefix + i + " has no series");
            }
            System.out.printf("300 holders, 20 series: (other) holds %s files, %s bytes allocated; %s labels folded%n",
                    text.value("memfd_live_files", "comm", "(other)"), text.value("memfd_live_allocated_bytes", "comm", "(other)"),
                    text.value("memfd_exporter_folded_comms", "family", "memfd_live_files"));
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
