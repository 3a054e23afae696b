package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import io.memfdexporter.probe.CommKey;
import io.memfdexporter.testing.RequiresBpf;

/**
 * Scans the real host, with each method (BPF iterators, /proc), while python3 children hold memfds and other
 * files: both must find the same memfds with the same bytes.
 */
@ParameterizedClass
@EnumSource(LiveScan.Method.class)
@ExtendWith(RequiresBpf.class)
class LiveMemfdScannerTest {
    private static final long MIB = 1 << 20;

    /** libc mmap through ctypes: Python's mmap module keeps a dup of the fd, which would hide "mapped only". */
    private static final String MMAP = """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            def mmap_shared(fd, size):
                address = libc.mmap(None, size, 3, 1, fd, 0)  # PROT_READ | PROT_WRITE, MAP_SHARED
                if address in (None, ctypes.c_void_p(-1).value):
                    raise OSError(ctypes.get_errno(), "mmap")
                return address
            def fill(fd, mib):
                for _ in range(mib):
                    os.write(fd, b"\\xa5" * (1 << 20))
            """;

    private static final String HOLDS_64_MIB = MMAP + """
            fd = os.memfd_create("held")
            fill(fd, 64)
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /** 16 MiB apparent, 4 MiB touched, and the fd closed: only the mapping keeps the memfd alive. */
    private static final String MAPS_ONLY = MMAP + """
            fd = os.memfd_create("mapped")
            os.ftruncate(fd, 16 << 20)
            address = mmap_shared(fd, 16 << 20)
            os.close(fd)
            ctypes.memset(address, 0x5a, 4 << 20)
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /** One memfd, held by an fd and mapped twice, shared with a forked child renamed to argv[1]. */
    private static final String SHARES_WITH_CHILD = MMAP + """
            fd = os.memfd_create("shared")
            fill(fd, 8)
            mmap_shared(fd, 8 << 20)
            mmap_shared(fd, 8 << 20)
            renamed, done = os.pipe()
            pid = os.fork()
            if pid == 0:
                with open("/proc/self/comm", "w") as comm:
                    comm.write(sys.argv[1])
                os.write(done, b"x")
                sys.stdin.read()
                os._exit(0)
            os.read(renamed, 1)
            print("ready", pid, flush=True)
            sys.stdin.read()
            os.waitpid(pid, 0)
            """;

    /** MFD_HUGETLB, sized but never touched: found with no huge page reserved on the host. */
    private static final String HOLDS_HUGETLB = """
            import os, sys
            fd = os.memfd_create("huge", os.MFD_HUGETLB)
            os.ftruncate(fd, 2 << 20)
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /**
     * A regular file (4 MiB), an unlinked /dev/shm file held by an fd (8 MiB), an unlinked /dev/shm file only
     * mapped (16 MiB), and, to show the process was scanned, one 1 MiB memfd.
     */
    private static final String HOLDS_OTHER_FILES = MMAP + """
            regular = os.open(os.path.join(sys.argv[1], "regular"), os.O_RDWR | os.O_CREAT, 0o600)
            fill(regular, 4)
            shm = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.unlink(sys.argv[2])
            fill(shm, 8)
            shm_mapped = os.open(sys.argv[3], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.unlink(sys.argv[3])
            os.ftruncate(shm_mapped, 16 << 20)
            ctypes.memset(mmap_shared(shm_mapped, 16 << 20), 0x3c, 16 << 20)
            os.close(shm_mapped)
            memfd = os.memfd_create("control")
            fill(memfd, 1)
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /**
     * Regular files whose paths, once unlinked, read exactly like memfds' ({@code /memfd:NAME (deleted)}):
     * argv[1] (50 MiB) held by an fd, argv[2] (8 MiB) only mapped; and a real 64 MiB memfd held by an fd.
     */
    private static final String HOLDS_FILES_NAMED_LIKE_MEMFDS = MMAP + """
            fake = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fill(fake, 50)
            os.unlink(sys.argv[1])
            fake_mapped = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fill(fake_mapped, 8)
            mmap_shared(fake_mapped, 8 << 20)
            os.close(fake_mapped)
            os.unlink(sys.argv[2])
            memfd = os.memfd_create("real")
            fill(memfd, 64)
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /** MFD_HUGETLB with one default-size huge page written through a mapping. */
    private static final String HOLDS_TOUCHED_HUGETLB = MMAP + """
            fd = os.memfd_create("huge", os.MFD_HUGETLB)
            os.ftruncate(fd, int(sys.argv[1]))
            ctypes.memset(mmap_shared(fd, int(sys.argv[1])), 0x7e, int(sys.argv[1]))
            print("ready", flush=True)
            sys.stdin.read()
            """;

    @Parameter
    LiveScan.Method method;

    private LiveScanner scanner;

    @BeforeEach
    void requireRootAndStartScanner() throws IOException {
        Privilege.requireRoot();
        scanner = scanner(method, Long.MAX_VALUE);
    }

    @AfterEach
    void closeScanner() {
        if (scanner != null) {
            scanner.close();
        }
    }

    /** A scanner of that method, forced (no fallback): {@code budget} is --collector.live.max-fds. */
    static LiveScanner scanner(LiveScan.Method method, long budget) {
        return LiveScanner.choose(method == LiveScan.Method.PROC ? LiveScanner.Choice.PROC : LiveScanner.Choice.BPF_ITERATOR,
                budget);
    }

    @Test
    void memfdHeldByAnFdIsCountedWithItsAllocatedBytesUnderTheHoldersComm() throws IOException {
        try (PythonChild child = PythonChild.start(HOLDS_64_MIB)) {
            LiveScan.Usage usage = usageOf(scanner.scan(), child.comm()).orElseThrow();

            assertEquals(1, usage.files());
            assertTrue(usage.allocatedBytes() >= 64 * MIB, "allocated " + usage.allocatedBytes());
            assertEquals(64 * MIB, usage.apparentBytes());
        }
    }

    @Test
    void memfdOnlyMappedIsFoundThroughMapFilesAndReportsBlocksNotSize() throws IOException {
        try (PythonChild child = PythonChild.start(MAPS_ONLY)) {
            assertFalse(fdTargets(child.pid()).stream().anyMatch(target -> target.startsWith("/memfd:")),
                    "the child must hold no memfd fd");

            LiveScan.Usage usage = usageOf(scanner.scan(), child.comm()).orElseThrow();

            assertEquals(1, usage.files());
            assertTrue(usage.allocatedBytes() >= 4 * MIB && usage.allocatedBytes() < 16 * MIB,
                    "allocated " + usage.allocatedBytes());
            assertEquals(16 * MIB, usage.apparentBytes());
        }
    }

    @Test
    void hugetlbMemfdIsFoundWithNoBlocksUntilTouched() throws IOException {
        try (PythonChild child = PythonChild.start(HOLDS_HUGETLB)) {
            assertEquals(Optional.of(new LiveScan.Usage(1, 0, 2 * MIB)), usageOf(scanner.scan(), child.comm()));
        }
    }

    @Test
    void memfdSharedByTwoProcessesAndMappedTwiceCountsOnceUnderTheLowestPid() throws IOException {
        String forkedComm = PythonChild.uniqueComm();
        try (PythonChild child = PythonChild.start(SHARES_WITH_CHILD, forkedComm)) {
            long forkedPid = Long.parseLong(child.readyWords()[1]);
            String lowest = child.pid() < forkedPid ? child.comm() : forkedComm;
            String highest = child.pid() < forkedPid ? forkedComm : child.comm();

            LiveScan scan = scanner.scan();

            LiveScan.Usage usage = usageOf(scan, lowest).orElseThrow();
            assertEquals(1, usage.files());
            assertEquals(8 * MIB, usage.apparentBytes());
            assertEquals(Optional.empty(), usageOf(scan, highest));
        }
    }

    @Test
    void seriesIsGoneOnceTheHolderHasExited() throws IOException {
        String comm;
        try (PythonChild child = PythonChild.start(HOLDS_64_MIB)) {
            comm = child.comm();
            assertTrue(usageOf(scanner.scan(), comm).isPresent());
        }

        assertEquals(Optional.empty(), usageOf(scanner.scan(), comm));
    }

    @Test
    void regularFilesAndUnlinkedShmFilesAreNotMemfds(@TempDir Path dir) throws IOException {
        Path shm = Path.of("/dev/shm", PythonChild.uniqueComm());
        Path shmMapped = Path.of(shm + "-mapped");
        try (PythonChild child = PythonChild.start(HOLDS_OTHER_FILES, dir.toString(), shm.toString(), shmMapped.toString())) {
            LiveScan.Usage usage = usageOf(scanner.scan(), child.comm()).orElseThrow();

            assertEquals(1, usage.files());
            assertEquals(MIB, usage.apparentBytes());
        } finally {
            Files.deleteIfExists(shm);
            Files.deleteIfExists(shmMapped);
        }
    }

    @Test
    void aFileNamedMemfdOutsideTheKernelsMemfdFileSystemsIsNotCounted() throws IOException {
        // The paths must read /memfd:NAME as /proc shows them: files at the root of the real root file system.
        Path fake = Path.of("/" + "memfd:" + PythonChild.uniqueComm());
        Path fakeMapped = Path.of(fake + "-mapped");
        try (PythonChild child = PythonChild.start(HOLDS_FILES_NAMED_LIKE_MEMFDS, fake.toString(), fakeMapped.toString())) {
            List<String> maps = Files.readAllLines(Path.of("/proc", Long.toString(child.pid()), "maps"));
            assertTrue(fdTargets(child.pid()).contains(fake + " (deleted)"), "the fake is held as " + fake + " (deleted)");
            assertTrue(maps.stream().anyMatch(line -> line.endsWith(" " + fakeMapped + " (deleted)")), "and mapped");

            // Only the real memfd, exactly: 64 MiB written is 64 MiB allocated.
            assertEquals(Optional.of(new LiveScan.Usage(1, 64 * MIB, 64 * MIB)), usageOf(scanner.scan(), child.comm()));
        } finally {
            Files.deleteIfExists(fake);
            Files.deleteIfExists(fakeMapped);
        }
    }

    @Test
    void aTouchedHugetlbMemfdIsCountedWithItsHugePage() throws IOException {
        Path reserved = Path.of("/proc/sys/vm/nr_hugepages");
        String before = Files.readString(reserved).strip();
        long pageBytes = defaultHugePageBytes();
        try {
            if (Long.parseLong(before) < 1) {
                Files.writeString(reserved, "1"); // restored below
            }
            Assumptions.assumeTrue(Long.parseLong(Files.readString(reserved).strip()) >= 1,
                    "the kernel could not reserve a huge page (memory too fragmented?)");
            try (PythonChild child = PythonChild.start(HOLDS_TOUCHED_HUGETLB, Long.toString(pageBytes))) {
                assertEquals(Optional.of(new LiveScan.Usage(1, pageBytes, pageBytes)), usageOf(scanner.scan(), child.comm()));
            }
        } finally {
            Files.writeString(reserved, before);
        }
    }

    /** Hugepagesize in /proc/meminfo, the size MFD_HUGETLB without a size flag uses. */
    private static long defaultHugePageBytes() throws IOException {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(line -> line.startsWith("Hugepagesize:"))
                .map(line -> Long.parseLong(line.split("\\s+")[1]) * 1024).findFirst().orElseThrow();
    }

    /**
     * The proc method stops after 1 fd and counts every process left; the iterators stop after 1 memfd record
     * (the kernel then visits no more) and say 1, since they cannot know how many processes they did not visit.
     */
    @Test
    void budgetStopsTheScanAndSaysSo() throws IOException {
        // Two memfds at least on the host, even on a bare VM: one record more than the iterators' budget.
        try (PythonChild child = PythonChild.start(HOLDS_64_MIB); PythonChild other = PythonChild.start(HOLDS_64_MIB)) {
            LiveScan scan;
            try (LiveScanner limited = scanner(method, 1)) {
                scan = limited.scan();
            }

            if (method == LiveScan.Method.PROC) {
                assertEquals(1, scan.fds());
                assertTrue(scan.skippedProcesses().getOrDefault(LiveScan.Skip.BUDGET, 0) >= 1, scan.toString());
                assertEquals(Optional.empty(), usageOf(scan, child.comm()));
            } else {
                assertEquals(java.util.Map.of(LiveScan.Skip.BUDGET, 1), scan.skippedProcesses());
                assertEquals(1, scan.byComm().values().stream().mapToLong(LiveScan.Usage::files).sum(), scan.toString());
            }
        }
    }

    private static Optional<LiveScan.Usage> usageOf(LiveScan scan, String comm) {
        return Optional.ofNullable(scan.byComm().get(new CommKey(comm.getBytes(StandardCharsets.UTF_8))));
    }

    private static List<String> fdTargets(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    return ""; // the fd of the listing itself, closed by now
                }
            }).toList();
        }
    }
}
