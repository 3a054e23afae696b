package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MountNamespace;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * The real command, started as root: once attached, every thread of its JVM
 * (those from before the drop and those started after it) runs as uid/gid
 * 65534 with empty capability sets and no_new_privs, read from
 * /proc/PID/task/TID/status; and the scrapes (batch map reads,
 * BPF_PROG_TEST_RUN of the flush program, fdinfo) still count exactly.
 */
@ExtendWith(RequiresBpf.class)
class PrivilegeDropKernelTest {
    private static final int NOBODY = 65534;
    private static final long CAP_SYS_ADMIN = 1L << 21;
    private static final long CAP_BPF = 1L << 39;

    /** The fields of one thread's status file, parsed here independently of the exporter's own code. */
    private record ThreadStatus(String name, List<Integer> uids, List<Integer> gids, long inheritable, long permitted,
                                long effective, long ambient, boolean noNewPrivs, String seccomp) {
        static List<ThreadStatus> of(long pid) throws IOException {
            List<ThreadStatus> threads = new ArrayList<>();
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path task : tasks) {
                    Map<String, String> fields = new HashMap<>();
                    try {
                        for (String line : Files.readAllLines(task.resolve("status"))) {
                            String[] field = line.split(":\\s*", 2);
                            fields.put(field[0], field.length > 1 ? field[1] : "");
                        }
                    } catch (NoSuchFileException exited) {
                        continue;
                    }
                    threads.add(new ThreadStatus(fields.get("Name"), ids(fields.get("Uid")), ids(fields.get("Gid")),
                            hex(fields.get("CapInh")), hex(fields.get("CapPrm")), hex(fields.get("CapEff")),
                            hex(fields.get("CapAmb")), fields.get("NoNewPrivs").equals("1"), fields.get("Seccomp")));
                }
            }
            return threads;
        }

        private static List<Integer> ids(String field) {
            return Arrays.stream(field.trim().split("\\s+")).map(Integer::valueOf).toList();
        }

        private static long hex(String field) {
            return Long.parseUnsignedLong(field.trim(), 16);
        }
    }

    @Test
    void afterAttachingNoThreadKeepsAnyPrivilegeAndScrapesStayExact() throws Exception {
        // Its own cgroup2 mount, so that cgroup paths resolve whatever the runner mounts.
        try (MountNamespace namespace = MountNamespace.withOwnCgroup2();
             ChildExporter child = ChildExporter.start(namespace.wrapper(), "--web.listen-address=127.0.0.1:0",
                     "--no-collector.live")) {
            String comm = uniqueComm("mfdpriv");
            CommThreads.runAs(comm, calls(1234, TestLibC.MFD_CLOEXEC));
            for (int scrape = 0; scrape < 2; scrape++) {
                Exposition metrics = Http.scrape(child.port());
                assertEquals(1234, metrics.value("memfd_create_calls_total", "comm", comm));
                assertEquals(1, metrics.value("memfd_exporter_collector_success", "collector", "memfd"));
                assertEquals(1, metrics.value("memfd_exporter_collector_success", "collector", "bpf_programs"));
                String own = ownCgroup();
                assertTrue(metrics.family("memfd_create_calls_by_cgroup_total").stream()
                                .filter(sample -> sample.labels().get("cgroup").equals(own))
                                .mapToDouble(Exposition.Sample::value).sum() >= 1234,
                        "cgroup ids are still resolved to paths");
            }

            List<ThreadStatus> threads = ThreadStatus.of(child.pid());
            List<String> names = threads.stream().map(ThreadStatus::name).toList();
            assertTrue(names.containsAll(List.of("VM Thread", "GC Thread#0", "C2 CompilerThre", "vert.x-eventloo")),
                    "threads from before the drop: " + names);
            assertTrue(names.contains("memfd-scrape-0"), "the scrape worker, started after the drop: " + names);
            for (ThreadStatus thread : threads) {
                assertEquals(List.of(NOBODY, NOBODY, NOBODY, NOBODY), thread.uids(), thread.toString());
                assertEquals(List.of(NOBODY, NOBODY, NOBODY, NOBODY), thread.gids(), thread.toString());
                assertEquals(0, thread.permitted(), thread.toString());
                assertEquals(0, thread.effective(), thread.toString());
                assertEquals(0, thread.inheritable(), thread.toString());
                assertEquals(0, thread.ambient(), thread.toString());
                assertTrue(thread.noNewPrivs(), thread.toString());
                assertEquals("2", thread.seccomp(), "the allow-all filter that carried no_new_privs: " + thread);
            }
            String log = child.stderrSoFar();
            assertTrue(log.contains("level=info source=PrivilegeDrop msg=\"dropped privileges: all "), log);
            assertTrue(log.contains("CAP_SYS_ADMIN") && log.contains("CAP_BPF, CAP_CHECKPOINT_RESTORE\""), log);

            ChildExporter.Exit exit = child.terminate();
            assertEquals(0, exit.code(), exit.stderr());
            assertTrue(exit.stderr().contains("stopped: BPF programs detached"), exit.stderr());
        }
    }

    @Test
    void asRootTheLiveCollectorsProcMethodKeepsPrivilegesAndSaysSo() throws Exception {
        try (ChildExporter child = ChildExporter.start(List.of(), "--web.listen-address=127.0.0.1:0",
                "--collector.live.method=proc")) {
            Http.scrape(child.port());
            for (ThreadStatus thread : ThreadStatus.of(child.pid())) {
                assertEquals(0, thread.uids().get(1), thread.toString());
            }
            assertTrue(child.stderrSoFar().contains("privileges kept: the live collector reads every process's"),
                    child.stderrSoFar());
        }
    }

    /** A container's root given only BPF and PERFMON: the drop cannot happen, and the exporter says what to add. */
    @Test
    void rootWithoutSetuidAndSetgidRefusesToRunRatherThanKeepItsPrivilegesSilently() throws Exception {
        ChildExporter.Exit exit = ChildExporter.runToExit(List.of("setpriv", "--bounding-set=-setuid,-setgid", "--"),
                "--web.listen-address=127.0.0.1:0");
        assertEquals(1, exit.code(), exit.stderr());
        assertTrue(exit.stderr().contains("cannot drop privileges: becoming uid 65534 needs CAP_SETUID and CAP_SETGID,"
                + " which this root process lacks"), exit.stderr());
    }

    @Test
    void theOptOutKeepsRootAndItsCapabilities() throws Exception {
        try (ChildExporter child = ChildExporter.start(List.of(), "--web.listen-address=127.0.0.1:0",
                "--no-runtime.drop-privileges")) {
            Http.scrape(child.port());
            for (ThreadStatus thread : ThreadStatus.of(child.pid())) {
                assertEquals(0, thread.uids().get(1), thread.toString());
                assertEquals(CAP_SYS_ADMIN | CAP_BPF, thread.effective() & (CAP_SYS_ADMIN | CAP_BPF), thread.toString());
                assertFalse(thread.noNewPrivs(), thread.toString());
            }
            assertFalse(child.stderrSoFar().contains("dropped privileges"), child.stderrSoFar());
        }
    }

    /** This test JVM's cgroup v2 path, where the memfd_create calls above were made. */
    private static String ownCgroup() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/cgroup")).stream().filter(line -> line.startsWith("0::"))
                .map(line -> line.substring(3)).findFirst().orElseThrow();
    }
}
