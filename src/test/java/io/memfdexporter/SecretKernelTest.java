package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/** memfd_secret(2) against the real kernel, and an exporter on a kernel without its tracepoint. */
@ExtendWith(RequiresBpf.class)
class SecretKernelTest {
    private static final int ENOSYS = 38;

    @Test
    void countsMemfdSecretCallsAndFailuresPerComm() {
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)))) {
            String comm = uniqueComm("mfdsecret");
            AtomicInteger firstErrno = new AtomicInteger();
            CommThreads.runAs(comm, () -> {
                long fd = TestLibC.INSTANCE.syscall(TestLibC.SYS_MEMFD_SECRET, TestLibC.O_CLOEXEC);
                if (fd >= 0) {
                    TestLibC.INSTANCE.close((int) fd);
                } else {
                    firstErrno.set(TestLibC.lastErrno());
                }
                if (TestLibC.INSTANCE.syscall(TestLibC.SYS_MEMFD_SECRET, 0xff) != -1) { // undefined flags
                    throw new IllegalStateException("memfd_secret with undefined flags succeeded");
                }
            });
            Exposition metrics = Http.scrape(exporter.port());

            assertEquals(2, metrics.value("memfd_secret_calls_total", "comm", comm));
            if (firstErrno.get() == 0) {
                // secretmem is enabled (as on the kernels we test on): only the undefined flags fail.
                assertEquals(1, metrics.value("memfd_secret_failures_total", "comm", comm, "errno", "EINVAL"));
                assertEquals(1, commFailures(metrics, comm));
            } else {
                // Booted with secretmem.enable=0 (or no direct map control): every call fails with ENOSYS.
                assertEquals(ENOSYS, firstErrno.get());
                assertEquals(2, metrics.value("memfd_secret_failures_total", "comm", comm, "errno", "ENOSYS"));
                assertEquals(2, commFailures(metrics, comm));
            }
            assertEquals(0, metrics.value("memfd_secret_unrecorded_total", "map", "secret_calls_by_comm"));
        }
    }

    private static double commFailures(Exposition metrics, String comm) {
        return metrics.family("memfd_secret_failures_total").stream()
                .filter(sample -> sample.labels().get("comm").equals(comm)).mapToDouble(Exposition.Sample::value).sum();
    }

    @Test
    void startsWithoutMemfdSecretMetricsOnAKernelWithoutItsTracepoint(@TempDir Path empty) throws Exception {
        // A private mount namespace where syscalls:sys_exit_memfd_secret looks absent, as without CONFIG_SECRETMEM.
        String hide = "umount /sys/kernel/debug 2>/dev/null || true; "
                + "mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; "
                + "mount --bind " + empty + " /sys/kernel/tracing/events/syscalls/sys_exit_memfd_secret";
        try (ChildExporter child = ChildExporter.start(ChildExporter.inPrivateMountNamespace(hide, List.of()),
                "--web.listen-address=127.0.0.1:0")) {
            String log = child.stderrSoFar();
            String notice = "memfd_secret(2) is not counted and the memfd_secret_* metrics are absent: the kernel has"
                    + " no tracepoint syscalls:sys_exit_memfd_secret (built without CONFIG_SECRETMEM)";
            assertEquals(1, log.split(java.util.regex.Pattern.quote(notice), -1).length - 1, log);

            String text = new String(Http.get(child.port(), "/metrics", Http.TEXT).body(), StandardCharsets.UTF_8);
            assertFalse(text.contains("memfd_secret_"), text);
            assertFalse(text.contains("probe=\"secret\""), text);
            assertTrue(text.contains("memfd_requested_size_bytes_count"), "the other probes still count");
            assertEquals(200, Http.get(child.port(), "/-/healthy", null).statusCode());
        }
    }
}
