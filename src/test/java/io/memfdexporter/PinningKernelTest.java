package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.testing.BpfIds;
import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MountNamespace;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * --bpf.pin-path on a real kernel: counting goes on while no exporter runs, a
 * restart reattaches without attaching twice, a state of another build is
 * replaced, --bpf.unpin leaves nothing behind, one exporter at a time owns the
 * directory.
 *
 * <p>Each test runs its exporters one after another in one private mount
 * namespace kept by a holder process, where /sys/fs/bpf starts unmounted: the
 * first exporter mounts a bpffs there, and the pins in it are never visible to
 * the host. Whatever happens, closing the namespace unmounts that bpffs, which
 * drops every pin; each test then checks that all the programs it saw are gone
 * from the kernel.
 */
@ExtendWith(RequiresBpf.class)
class PinningKernelTest {
    private static final String PIN_PATH = "/sys/fs/bpf/memfd_exporter_test";
    private static final String STATE_DIR = PIN_PATH + "/memfd";
    private static final String IN_USE = "memfd_exporter: --bpf.pin-path " + PIN_PATH + " is in use by another"
            + " memfd_exporter (or its --bpf.unpin): run one exporter per directory";

    private final Set<Integer> programsSeen = new HashSet<>();

    /*
     * Without the live collector: its BPF iterators are loaded afresh at every start, never pinned (they keep no
     * state, and a pinned iterator would let anyone who can read the pin list the host's memfds), so they would
     * blur "the same programs, none loaded again".
     */
    private static final String NO_LIVE = "--no-collector.live";

    private static ChildExporter start(MountNamespace namespace, String... extraArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("--web.listen-address=127.0.0.1:0", "--bpf.pin-path=" + PIN_PATH, NO_LIVE));
        args.addAll(List.of(extraArgs));
        return ChildExporter.start(namespace.wrapper(), args.toArray(String[]::new));
    }

    private Set<Integer> programsOf(ChildExporter exporter) {
        Set<Integer> ids = BpfIds.programIds(exporter.pid());
        assertFalse(ids.isEmpty(), "the exporter holds its programs");
        programsSeen.addAll(ids);
        return ids;
    }

    private static double countedFor(ChildExporter exporter, String comm) {
        return Http.scrape(exporter.port()).value("memfd_create_calls_total", "comm", comm);
    }

    private static List<String> list(Path dir) throws Exception {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(entry -> entry.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    private void assertEveryProgramSeenIsGone() throws InterruptedException {
        assertTrue(BpfIds.awaitGone(programsSeen), "no program of the test is left in the kernel: " + programsSeen);
    }

    @Test
    void aRestartedExporterContinuesTheCountsWithoutAttachingTwice() throws Exception {
        String comm = uniqueComm("mfdpin");
        try (MountNamespace namespace = MountNamespace.withoutBpffs()) {
            Set<Integer> programs;
            long links;
            try (ChildExporter first = start(namespace)) {
                assertTrue(first.stderrSoFar().contains("mounted a bpf filesystem at /sys/fs/bpf"), first.stderrSoFar());
                CommThreads.runAs(comm, calls(25, TestLibC.MFD_CLOEXEC));
                assertEquals(25, countedFor(first, comm));
                programs = programsOf(first);
                links = BpfIds.linkCount(first.pid());
                first.kill();
            }
            CommThreads.runAs(comm, calls(17, TestLibC.MFD_CLOEXEC)); // no exporter runs

            try (ChildExporter second = start(namespace)) {
                assertTrue(second.stderrSoFar().contains("reattached to the BPF state pinned in " + STATE_DIR + "/"),
                        second.stderrSoFar());
                assertEquals(25 + 17, countedFor(second, comm));
                assertEquals(programs, programsOf(second), "the same programs, none loaded again");
                assertEquals(links, BpfIds.linkCount(second.pid()), "the pinned links, none attached again");
                CommThreads.runAs(comm, calls(8, TestLibC.MFD_CLOEXEC));
                assertEquals(25 + 17 + 8, countedFor(second, comm), "each call counted once");
                assertEquals(0, second.terminate().code());
            }
            CommThreads.runAs(comm, calls(5, TestLibC.MFD_CLOEXEC)); // after a clean stop too

            try (ChildExporter third = start(namespace)) {
                assertEquals(25 + 17 + 8 + 5, countedFor(third, comm));
                assertEquals(programs, programsOf(third));
            }
        }
        assertEveryProgramSeenIsGone();
    }

    @Test
    void executableMemfdMappingsAreCountedWhileNoExporterRuns() throws Exception {
        Python python = Python.named(uniqueComm("mfdpinxm"));
        String map = """
                import mmap, os
                fd = os.memfd_create('code')
                os.write(fd, b'\\xc3' * 4096)
                mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)
                """;
        try (MountNamespace namespace = MountNamespace.withoutBpffs()) {
            try (ChildExporter first = start(namespace)) {
                python.run(map);
                assertEquals(1, execMappingsFor(first, python.comm()));
                programsOf(first);
                first.kill();
            }
            python.run(map); // no exporter runs: the pinned sys_exit_mmap program counts

            try (ChildExporter second = start(namespace)) {
                assertEquals(2, execMappingsFor(second, python.comm()));
                assertTrue(list(namespace.path(PIN_PATH)).contains("exec_mappings"), "pinned like the other objects");
            }
        }
        assertEveryProgramSeenIsGone();
    }

    private static double execMappingsFor(ChildExporter exporter, String comm) {
        return Http.scrape(exporter.port()).value("memfd_exec_mappings_total", "comm", comm, "syscall", "mmap", "kind", "plain");
    }

    @Test
    void aStatePinnedByAnotherBuildIsReplacedAndCountsRestart() throws Exception {
        String comm = uniqueComm("mfdpold");
        try (MountNamespace namespace = MountNamespace.withoutBpffs()) {
            Set<Integer> oldPrograms;
            String fingerprint;
            try (ChildExporter first = start(namespace)) {
                CommThreads.runAs(comm, calls(9, TestLibC.MFD_CLOEXEC));
                assertEquals(9, countedFor(first, comm));
                oldPrograms = programsOf(first);
                first.kill();
            }
            List<String> states = list(namespace.path(STATE_DIR));
            assertEquals(1, states.size(), states.toString());
            fingerprint = states.get(0);
            // Another build's state: the same layout under another fingerprint, its links still attached
            // (for every BPF object of the exporter, so that none of its programs is reused).
            for (String object : list(namespace.path(PIN_PATH))) {
                String objectDir = PIN_PATH + "/" + object;
                for (String state : list(namespace.path(objectDir))) {
                    Files.move(namespace.path(objectDir + "/" + state), namespace.path(objectDir + "/0000000000000000"));
                }
            }

            try (ChildExporter second = start(namespace)) {
                String log = second.stderrSoFar();
                assertTrue(log.contains("level=warn source=BpfObject msg=\"the BPF state pinned in " + STATE_DIR
                        + " [0000000000000000] is not this build's " + fingerprint), log);
                assertTrue(log.contains("removing it and loading afresh; the memfd counts restart from zero"), log);
                assertEquals(0, countedFor(second, comm), "fresh maps");
                CommThreads.runAs(comm, calls(4, TestLibC.MFD_CLOEXEC));
                assertEquals(4, countedFor(second, comm));
                assertEquals(List.of(fingerprint), list(namespace.path(STATE_DIR)));
                assertTrue(Collections.disjoint(oldPrograms, programsOf(second)), "programs loaded afresh");
                assertTrue(BpfIds.awaitGone(oldPrograms), "the old state's programs are detached and freed");
            }
        }
        assertEveryProgramSeenIsGone();
    }

    @Test
    void unpinRemovesThePinsDetachesTheProgramsAndUnmountsTheBpffsItMounted() throws Exception {
        String comm = uniqueComm("mfdunpin");
        try (MountNamespace namespace = MountNamespace.withoutBpffs()) {
            Set<Integer> programs;
            try (ChildExporter first = start(namespace)) {
                CommThreads.runAs(comm, calls(11, TestLibC.MFD_CLOEXEC));
                programs = programsOf(first);
                ChildExporter.Exit exit = first.terminate();
                assertEquals(0, exit.code());
                assertTrue(exit.stderr().contains("stopped: the BPF programs stay attached and pinned in " + PIN_PATH),
                        exit.stderr());
            }
            CommThreads.runAs(comm, calls(6, TestLibC.MFD_CLOEXEC));
            try (ChildExporter second = start(namespace)) {
                assertEquals(11 + 6, countedFor(second, comm), "the pinned programs counted after a clean stop");
                second.terminate();
            }
            assertTrue(BpfIds.programExists(programs.iterator().next()), "pinned programs outlive the exporter");

            ChildExporter.Exit unpin = ChildExporter.runToExit(namespace.wrapper(), "--bpf.pin-path=" + PIN_PATH,
                    "--bpf.unpin");
            assertEquals(0, unpin.code(), unpin.stderr());
            assertTrue(unpin.stderr().contains("msg=\"removed " + PIN_PATH + " and the "), unpin.stderr());
            assertTrue(unpin.stderr().contains("msg=\"unmounted the bpf filesystem at /sys/fs/bpf"), unpin.stderr());
            assertFalse(Files.exists(namespace.path(PIN_PATH)));
            assertFalse(namespace.mountinfo().contains(" - bpf "), namespace.mountinfo());
            // No link pinned or held anywhere: the programs no longer exist, so nothing counts calls any more.
            assertTrue(BpfIds.awaitGone(programs), "programs freed right after --bpf.unpin: " + programs);
        }
        assertEveryProgramSeenIsGone();
    }

    @Test
    void ofTwoExportersStartedAtOnceOnOneDirectoryOneRunsWithItsStateIntactAndTheOtherExitsOne() throws Exception {
        String comm = uniqueComm("mfdplock");
        String[] args = {"--web.listen-address=127.0.0.1:0", "--bpf.pin-path=" + PIN_PATH, NO_LIVE};
        try (MountNamespace namespace = MountNamespace.withoutBpffs()) {
            Set<Integer> programs;
            // Both mount-or-find the bpffs, prepare the directory and load at the same time.
            try (ChildExporter a = ChildExporter.spawn(namespace.wrapper(), ChildExporter.Jvm.TEST, args);
                 ChildExporter b = ChildExporter.spawn(namespace.wrapper(), ChildExporter.Jvm.TEST, args)) {
                boolean aRuns = a.awaitListening();
                boolean bRuns = b.awaitListening();
                assertTrue(aRuns ^ bRuns, "exactly one runs:\n" + a.stderrSoFar() + "\n" + b.stderrSoFar());
                ChildExporter running = aRuns ? a : b;
                ChildExporter.Exit refused = (aRuns ? b : a).awaitExit();
                assertEquals(1, refused.code(), refused.stderr());
                List<String> lines = refused.stderrLines();
                assertEquals(IN_USE, lines.get(lines.size() - 1), refused.stderr());
                assertEquals(1, lines.stream().filter(line -> line.startsWith("memfd_exporter:")).count(), refused.stderr());

                CommThreads.runAs(comm, calls(13, TestLibC.MFD_CLOEXEC));
                assertEquals(13, countedFor(running, comm), running.stderrSoFar());
                programs = programsOf(running);
                for (String object : list(namespace.path(PIN_PATH))) {
                    List<String> states = list(namespace.path(PIN_PATH + "/" + object));
                    assertEquals(1, states.size(), object + ": " + states);
                    assertFalse(states.get(0).endsWith("-partial"), object + ": " + states);
                }
                // --bpf.unpin is refused as well while an exporter runs, and removes nothing.
                ChildExporter.Exit unpin = ChildExporter.runToExit(namespace.wrapper(), "--bpf.pin-path=" + PIN_PATH,
                        "--bpf.unpin");
                assertEquals(1, unpin.code(), unpin.stderr());
                assertEquals(List.of(IN_USE), unpin.stderrLines());
                CommThreads.runAs(comm, calls(2, TestLibC.MFD_CLOEXEC));
                assertEquals(13 + 2, countedFor(running, comm), "the pinned maps still count");
                running.kill();
            }
            CommThreads.runAs(comm, calls(4, TestLibC.MFD_CLOEXEC)); // no exporter runs
            try (ChildExporter next = start(namespace)) {
                assertTrue(next.stderrSoFar().contains("reattached to the BPF state pinned in " + STATE_DIR + "/"),
                        next.stderrSoFar());
                assertEquals(13 + 2 + 4, countedFor(next, comm), "the state pinned by the one that ran is intact");
                assertEquals(programs, programsOf(next));
            }
        }
        assertEveryProgramSeenIsGone();
    }

    @Test
    void aBpffsThatCannotBeMountedIsOneLineAndExitOne() throws Exception {
        try (MountNamespace namespace = MountNamespace.withoutBpffs()) {
            List<String> withoutSysAdmin = new ArrayList<>(namespace.wrapper());
            withoutSysAdmin.addAll(List.of("setpriv", "--bounding-set=-sys_admin", "--inh-caps=-all"));
            ChildExporter.Exit exit = ChildExporter.runToExit(withoutSysAdmin, "--web.listen-address=127.0.0.1:0",
                    "--bpf.pin-path=" + PIN_PATH);
            assertEquals(1, exit.code(), exit.stderr());
            assertEquals(List.of("memfd_exporter: --bpf.pin-path " + PIN_PATH + ": no bpf filesystem is mounted at"
                    + " /sys/fs/bpf and mounting one failed with EPERM (Operation not permitted): run 'mount -t bpf bpf"
                    + " /sys/fs/bpf' as root (containers: bind-mount the host's /sys/fs/bpf)"), exit.stderrLines());
        }
    }

    @Test
    void aPinPathOutsideAnyBpffsIsOneLineAndExitOne(@TempDir Path dir) throws Exception {
        ChildExporter.Exit exit = ChildExporter.runToExit(List.of(), "--web.listen-address=127.0.0.1:0",
                "--bpf.pin-path=" + dir);
        assertEquals(1, exit.code(), exit.stderr());
        assertEquals(List.of("memfd_exporter: --bpf.pin-path " + dir + " is not on a bpf filesystem: use a directory below"
                + " /sys/fs/bpf (mounted if needed), e.g. /sys/fs/bpf/memfd_exporter"), exit.stderrLines());
        assertEquals(List.of(), list(dir), "nothing created");
    }
}
