package io.memfdexporter.cli;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * How the real command starts and stops on a real kernel: one clear line and
 * exit 1 for each startup failure; tracefs mounted only for the attach; a
 * clean stop on SIGTERM. Child exporters run in private mount namespaces, so
 * the host's mounts are never touched.
 */
@ExtendWith(RequiresBpf.class)
class StartupFailureKernelTest {

    @Test
    void aPortInUseIsOneLineAndExitOne() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            MainTest.Run run = MainTest.run("--web.listen-address=127.0.0.1:" + taken.getLocalPort());
            assertEquals(1, run.exitCode());
            assertEquals("memfd_exporter: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": Address already in use\n",
                    run.err());
        }
    }

    @Test
    void missingCapabilitiesAreOneLineAndExitOne() throws Exception {
        ChildExporter.Exit exit = ChildExporter.runToExit(
                List.of("setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-all"),
                "--web.listen-address=127.0.0.1:0");
        assertEquals(1, exit.code(), exit.stderr());
        assertEquals(List.of("memfd_exporter: missing capabilities CAP_BPF, CAP_PERFMON: run as root, or grant CAP_BPF and"
                + " CAP_PERFMON (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON; docker: --cap-add BPF --cap-add PERFMON)"),
                exit.stderrLines());
    }

    @Test
    void unmountableTracefsIsOneLineAndExitOne() throws Exception {
        ChildExporter.Exit exit = ChildExporter.runToExit(ChildExporter.withoutTracefs(
                List.of("setpriv", "--bounding-set=-sys_admin", "--inh-caps=-all")), "--web.listen-address=127.0.0.1:0");
        assertEquals(1, exit.code(), exit.stderr());
        assertEquals(List.of("memfd_exporter: tracefs is not mounted at /sys/kernel/tracing and mounting it failed with"
                + " EPERM (Operation not permitted): run 'mount -t tracefs nodev /sys/kernel/tracing' as root"
                + " (containers: bind-mount the host's /sys/kernel/tracing)"), exit.stderrLines());
    }

    @Test
    void aMissingLibbpfIsOneLineAndExitOne() throws Exception {
        Path libbpf = realLibbpf();
        ChildExporter.Exit exit = ChildExporter.runToExit(ChildExporter.inPrivateMountNamespace(
                "mount --bind /dev/null " + libbpf, List.of()), "--web.listen-address=127.0.0.1:0");
        assertEquals(1, exit.code(), exit.stderr());
        assertEquals(1, exit.stderrLines().size(), exit.stderr());
        assertTrue(exit.stderr().startsWith("memfd_exporter: libbpf.so.1 could not be loaded ("), exit.stderr());
        assertTrue(exit.stderr().endsWith("): install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1)\n"), exit.stderr());
    }

    @Test
    void aLibbpfOlderThanOneIsOneLineAndExitOne(@TempDir Path dir) throws Exception {
        // A stand-in library that reports version 0.8, bind-mounted over the real one in a private namespace.
        Path source = Files.writeString(dir.resolve("old.c"),
                "int libbpf_major_version(void) { return 0; }\nint libbpf_minor_version(void) { return 8; }\n");
        Path library = dir.resolve("libbpf.so");
        Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-o", library.toString(), source.toString())
                .inheritIO().start();
        assertEquals(0, gcc.waitFor());
        ChildExporter.Exit exit = ChildExporter.runToExit(ChildExporter.inPrivateMountNamespace(
                "mount --bind " + library + " " + realLibbpf(), List.of()), "--web.listen-address=127.0.0.1:0");
        assertEquals(1, exit.code(), exit.stderr());
        assertEquals(List.of("memfd_exporter: the system libbpf is 0.8; libbpf >= 1.0 is required"
                + " (Debian/Ubuntu: apt-get install libbpf1)"), exit.stderrLines());
    }

    /** The file behind libbpf.so.1, found as the dynamic linker finds it. */
    private static Path realLibbpf() throws Exception {
        Process ldconfig = new ProcessBuilder("ldconfig", "-p").start();
        String cache = new String(ldconfig.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, ldconfig.waitFor());
        java.util.regex.Matcher match = java.util.regex.Pattern.compile("libbpf\\.so\\.1 \\(libc6,x86-64\\) => (\\S+)").matcher(cache);
        assertTrue(match.find(), "libbpf.so.1 is in the linker cache");
        return Path.of(match.group(1)).toRealPath();
    }

    @Test
    void mountsTracefsOnlyToAttachThenCountsAndStopsCleanlyOnSigterm() throws Exception {
        try (ChildExporter child = ChildExporter.start(ChildExporter.withoutTracefs(List.of()),
                "--web.listen-address=127.0.0.1:0", "--log.level=debug")) {
            String log = child.stderrSoFar();
            assertTrue(log.contains("mounted tracefs at /sys/kernel/tracing"), log);
            assertTrue(log.contains("unmounted tracefs at /sys/kernel/tracing"), log);
            String mountinfo = Files.readString(Path.of("/proc", Long.toString(child.pid()), "mountinfo"));
            assertFalse(mountinfo.contains(" - tracefs "), "tracefs is unmounted again in the child's namespace");

            String comm = uniqueComm("mfdchild");
            CommThreads.runAs(comm, calls(42, TestLibC.MFD_CLOEXEC));
            Exposition metrics = Http.scrape(child.port());
            assertEquals(42, metrics.value("memfd_create_calls_total", "comm", comm));

            ChildExporter.Exit exit = child.terminate();
            assertEquals(0, exit.code(), "a clean stop on SIGTERM");
            assertTrue(exit.stderr().contains("stopped: BPF programs detached"), exit.stderr());
        }
    }
}
