package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MountNamespace;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestCgroups;

/**
 * The real command, started as root with the live collector on (its default
 * method, the BPF iterators): once attached it runs as uid/gid 65534 with no
 * capability, and still reports, at every scan, another process's 64 MiB
 * memfd held by an fd and another's held only by a mapping, with exact bytes.
 */
@ExtendWith(RequiresBpf.class)
class LivePrivilegeDropKernelTest {
    private static final long MIB = 1 << 20;
    private static final int NOBODY = 65534;
    private static final String POD_UID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    private static final String CONTAINER_ID = "b".repeat(64);

    private static final String HOLDS_64_MIB_BY_FD = """
            import os, sys
            fd = os.memfd_create("byfd")
            for _ in range(64):
                os.write(fd, b"\\xa5" * (1 << 20))
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /** 64 MiB mapped, every page touched, the fd closed: only the mapping keeps the memfd. */
    private static final String HOLDS_64_MIB_BY_MAPPING = """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            fd = os.memfd_create("bymap")
            os.ftruncate(fd, 64 << 20)
            address = libc.mmap(None, 64 << 20, 3, 1, fd, 0)  # PROT_READ | PROT_WRITE, MAP_SHARED
            if address in (None, ctypes.c_void_p(-1).value):
                raise OSError(ctypes.get_errno(), "mmap")
            os.close(fd)
            ctypes.memset(address, 0x5a, 64 << 20)
            print("ready", flush=True)
            sys.stdin.read()
            """;

    @Test
    void withTheLiveCollectorOnTheExporterDropsEveryPrivilegeAndStillSeesOtherProcessesMemfds() throws Exception {
        // Both children in a containerd-shaped cgroup of the test's own cgroup2 mount, whatever the runner mounts.
        try (TestCgroups cgroups = TestCgroups.create("mfdlive")) {
            String container = cgroups.make("/kubepods/burstable/pod" + POD_UID + "/" + CONTAINER_ID);
            String directory = cgroups.directory(container).toString();
            holdBothAndDropEveryPrivilege(cgroups, container, directory);
        }
    }

    private static void holdBothAndDropEveryPrivilege(TestCgroups cgroups, String container, String directory) throws Exception {
        try (PythonChild byFd = PythonChild.start(TestCgroups.JOIN_ARGV1 + HOLDS_64_MIB_BY_FD, directory);
             PythonChild byMapping = PythonChild.start(TestCgroups.JOIN_ARGV1 + HOLDS_64_MIB_BY_MAPPING, directory);
             ChildExporter exporter = ChildExporter.start(cgroups.wrapper(), "--web.listen-address=127.0.0.1:0",
                     "--collector.live.interval=1s")) {
            assertFalse(fdTargets(byMapping.pid()).stream().anyMatch(target -> target.startsWith("/memfd:")),
                    "the mapping child must hold no memfd fd");
            Map<String, String> status = status(exporter.pid());
            assertEquals(List.of(NOBODY, NOBODY, NOBODY, NOBODY), ids(status.get("Uid")), status.toString());
            assertEquals(List.of(NOBODY, NOBODY, NOBODY, NOBODY), ids(status.get("Gid")), status.toString());
            for (String capabilities : List.of("CapEff", "CapPrm", "CapAmb", "CapInh")) {
                assertEquals(0, Long.parseUnsignedLong(status.get(capabilities).trim(), 16), capabilities);
            }

            // The first scan ran before the drop, as a check: wait for two made without any privilege.
            Exposition metrics = awaitScanAfter(exporter, Http.scrape(exporter.port()));
            metrics = awaitScanAfter(exporter, metrics);

            assertEquals(1, metrics.value("memfd_exporter_live_scan_method", "method", "bpf_iterator"));
            assertEquals(0, metrics.value("memfd_exporter_live_scan_method", "method", "proc"));
            for (PythonChild child : List.of(byFd, byMapping)) {
                assertEquals(1, metrics.value("memfd_live_files", "comm", child.comm()), child.comm());
                assertEquals(64 * MIB, (long) metrics.value("memfd_live_allocated_bytes", "comm", child.comm()), child.comm());
                assertEquals(64 * MIB, (long) metrics.value("memfd_live_apparent_bytes", "comm", child.comm()), child.comm());
            }
            // The same memfds by cgroup (paths resolved after the drop): the two families sum alike, exactly.
            assertEquals(metrics.sum("memfd_live_allocated_bytes"), metrics.sum("memfd_live_allocated_bytes_by_cgroup"));
            assertEquals(128 * MIB, (long) metrics.value("memfd_live_allocated_bytes_by_cgroup", "cgroup", container,
                    "container_id", "containerd://" + CONTAINER_ID, "pod_uid", POD_UID), "the children's cgroup holds both memfds");
            assertEquals(0, metrics.value("memfd_exporter_live_scan_errors_total"));
            assertEquals(0, metrics.value("memfd_exporter_live_skipped_processes", "reason", "budget"));
            assertTrue(metrics.value("memfd_exporter_live_scanned_fds") > 100, "every fd of the host was visited");
            String log = exporter.stderrSoFar();
            assertTrue(log.contains("live memfd scans run BPF iterators"), log);
            assertTrue(log.contains("msg=\"dropped privileges: all "), log);
        }
    }

    /** Pinned probes (reopened as root at start) and unpinned iterators (scanned as nobody) live side by side. */
    @Test
    void withPinningTheDroppedExporterKeepsScanningAndStopsCleanly() throws Exception {
        try (MountNamespace namespace = MountNamespace.withoutBpffs();
             PythonChild byFd = PythonChild.start(HOLDS_64_MIB_BY_FD);
             ChildExporter exporter = ChildExporter.start(namespace.wrapper(), "--web.listen-address=127.0.0.1:0",
                     "--collector.live.interval=1s", "--bpf.pin-path=/sys/fs/bpf/memfd_exporter_live_test")) {
            assertEquals(List.of(NOBODY, NOBODY, NOBODY, NOBODY), ids(status(exporter.pid()).get("Uid")));
            Exposition metrics = awaitScanAfter(exporter, Http.scrape(exporter.port()));

            assertEquals(64 * MIB, (long) metrics.value("memfd_live_allocated_bytes", "comm", byFd.comm()));
            assertEquals(1, metrics.value("memfd_exporter_live_scan_method", "method", "bpf_iterator"));
            assertTrue(exporter.stderrSoFar().contains("pinned the BPF maps, programs and links of memfd in"),
                    exporter.stderrSoFar());
            ChildExporter.Exit exit = exporter.terminate();
            assertEquals(0, exit.code(), exit.stderr());
        }
    }

    /** Scrapes until the last scan's timestamp moved past the one in {@code before}. */
    private static Exposition awaitScanAfter(ChildExporter exporter, Exposition before) throws Exception {
        double last = before.value("memfd_exporter_live_last_scan_timestamp_seconds");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            Exposition metrics = Http.scrape(exporter.port());
            if (metrics.value("memfd_exporter_live_last_scan_timestamp_seconds") > last) {
                return metrics;
            }
            assertTrue(System.nanoTime() < deadline, "no live scan within 30 s: " + exporter.stderrSoFar());
            Thread.sleep(100);
        }
    }

    private static Map<String, String> status(long pid) throws IOException {
        Map<String, String> fields = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            String[] field = line.split(":\\s*", 2);
            fields.put(field[0], field.length > 1 ? field[1] : "");
        }
        return fields;
    }

    private static List<Integer> ids(String field) {
        return Stream.of(field.trim().split("\\s+")).map(Integer::valueOf).toList();
    }

    private static List<String> fdTargets(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    return "";
                }
            }).toList();
        }
    }
}
