package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Scans see other processes' fds only with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, and mapped-only memfds
 * only with CAP_CHECKPOINT_RESTORE: tests that scan run as root. Without root they are skipped, unless
 * MEMFD_EXPORTER_REQUIRE_BPF=1 says this run must exercise the kernel, where a skip would hide a gap.
 */
final class Privilege {
    private Privilege() {
    }

    static void requireRoot() throws IOException {
        boolean root = effectiveUid() == 0;
        String reason = "live memfd scans need root (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE)"
                + " to read other processes' /proc/PID/fd and map_files; effective uid is " + effectiveUid();
        if ("1".equals(System.getenv("MEMFD_EXPORTER_REQUIRE_BPF"))) {
            assertTrue(root, reason + ", and MEMFD_EXPORTER_REQUIRE_BPF=1 forbids skipping");
        } else {
            assumeTrue(root, reason);
        }
    }

    /** The second field of "Uid:" in /proc/self/status. */
    private static long effectiveUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Long.parseLong(line.substring("Uid:".length()).trim().split("\\s+")[1]);
            }
        }
        throw new IOException("/proc/self/status has no Uid line");
    }
}
