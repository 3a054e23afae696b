package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.probe.CommKey;
import io.memfdexporter.testing.RequiresBpf;

/**
 * Executable memfd mappings as the task_vma iterator sees them, against
 * processes that make each kind of executable mapping for real.
 */
@ExtendWith(RequiresBpf.class)
class LiveExecutableMappingsTest {
    private static final long MIB = 1 << 20;

    private static final String LIBC = """
            import ctypes, os, sys, threading
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS = 1, 2, 4, 1, 2, 0x20
            def mmap(fd, size, prot, flags):
                address = libc.mmap(None, size, prot, flags, fd, 0)
                if address in (None, ctypes.c_void_p(-1).value):
                    raise OSError(ctypes.get_errno(), "mmap")
                return address
            """;

    /**
     * A 2 MiB memfd mapped PROT_READ|PROT_EXEC (fd closed); beside it, what must not count: a 1 MiB memfd mapped
     * read-only, a 1 MiB anonymous PROT_EXEC mapping, and a 1 MiB regular file (argv[1]) mapped PROT_EXEC. With
     * argv[2] == "thread", a thread that unshared its fd table, so the kernel visits the address space twice.
     */
    private static final String MAPS_EXECUTABLE = LIBC + """
            code = os.memfd_create("code")
            os.write(code, b"\\xc3" * (2 << 20))
            mmap(code, 2 << 20, PROT_READ | PROT_EXEC, MAP_SHARED)
            os.close(code)
            data = os.memfd_create("data")
            os.write(data, b"\\x00" * (1 << 20))
            mmap(data, 1 << 20, PROT_READ, MAP_SHARED)
            mmap(-1, 1 << 20, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS)
            regular = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o700)
            os.write(regular, b"\\xc3" * (1 << 20))
            mmap(regular, 1 << 20, PROT_READ | PROT_EXEC, MAP_PRIVATE)
            if sys.argv[2] == "thread":
                unshared = threading.Event()
                def own_fd_table():
                    if libc.unshare(0x400) != 0:  # CLONE_FILES
                        raise OSError(ctypes.get_errno(), "unshare")
                    unshared.set()
                    threading.Event().wait()
                threading.Thread(target=own_fd_table, daemon=True).start()
                unshared.wait()
            print("ready", flush=True)
            sys.stdin.read()
            """;

    /** Copies /bin/cat into a memfd named argv[1] and executes it by fd (fexecve): cat then reads stdin. */
    private static final String EXECS_FROM_MEMFD = """
            import os, sys
            fd = os.memfd_create(sys.argv[1], 0)
            with open("/bin/cat", "rb") as cat:
                os.write(fd, cat.read())
            print("ready", flush=True)
            os.execve(fd, ["cat"], {})
            """;

    /**
     * In a private mount namespace, a tmpfs at argv[1] with a file named like a memfd at its root, unlinked,
     * held by an fd (4 MiB) and mapped executable; and a real 1 MiB memfd, to show the process was scanned.
     */
    private static final String HOLDS_A_FILE_NAMED_MEMFD = LIBC + """
            CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 0x4000, 1 << 18
            libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
            if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
                raise OSError(ctypes.get_errno(), "private mount namespace")
            if libc.mount(b"tmpfs", sys.argv[1].encode(), b"tmpfs", 0, b"size=16m") != 0:
                raise OSError(ctypes.get_errno(), "mount tmpfs")
            path = os.path.join(sys.argv[1], "memfd:hostile")
            fake = os.open(path, os.O_RDWR | os.O_CREAT, 0o700)
            os.write(fake, b"\\xc3" * (4 << 20))
            os.unlink(path)
            mmap(fake, 4 << 20, PROT_READ | PROT_EXEC, MAP_SHARED)
            real = os.memfd_create("real")
            os.write(real, b"\\x01" * (1 << 20))
            print("ready", flush=True)
            sys.stdin.read()
            """;

    private LiveScanner scanner;

    @BeforeEach
    void attach() throws IOException {
        Privilege.requireRoot();
        scanner = LiveMemfdScannerTest.scanner(LiveScan.Method.BPF_ITERATOR, Long.MAX_VALUE);
    }

    @AfterEach
    void detach() {
        if (scanner != null) {
            scanner.close();
        }
    }

    @Test
    void aMemfdMappedExecutableCountsItsBytesAsMappedAndNothingElseCounts(@TempDir Path dir) throws IOException {
        try (PythonChild child = PythonChild.start(MAPS_EXECUTABLE, dir.resolve("regular").toString(), "no-thread")) {
            LiveScan scan = scanner.scan();

            assertEquals(Map.of(LiveScan.ExecutableKind.MAPPED, new LiveScan.ExecutableUsage(1, 2 * MIB)),
                    executableOf(scan, child.comm()));
            assertEquals(Optional.of(new LiveScan.Usage(2, 3 * MIB, 3 * MIB)), usageOf(scan, child.comm()));
        }
    }

    @Test
    void aThreadWithItsOwnFdTableDoesNotCountTheProcessTwice(@TempDir Path dir) throws IOException {
        try (PythonChild child = PythonChild.start(MAPS_EXECUTABLE, dir.resolve("regular").toString(), "thread")) {
            LiveScan scan = scanner.scan();

            assertEquals(Map.of(LiveScan.ExecutableKind.MAPPED, new LiveScan.ExecutableUsage(1, 2 * MIB)),
                    executableOf(scan, child.comm()));
            assertEquals(Optional.of(new LiveScan.Usage(2, 3 * MIB, 3 * MIB)), usageOf(scan, child.comm()));
        }
    }

    @Test
    void aProcessExecutedFromAMemfdCountsAsExeWithTheBytesOfItsExecutableMappings() throws Exception {
        String name = PythonChild.uniqueComm().substring(6);
        try (PythonChild child = PythonChild.start(EXECS_FROM_MEMFD, name)) {
            Path proc = Path.of("/proc", Long.toString(child.pid()));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!Files.readSymbolicLink(proc.resolve("exe")).toString().startsWith("/memfd:" + name)) {
                assertTrue(System.nanoTime() < deadline, "the child did not exec from its memfd");
                Thread.sleep(10);
            }
            String comm = Files.readString(proc.resolve("comm")).strip();
            // What the kernel itself lists: the memfd's executable mappings.
            long executableBytes = Files.readAllLines(proc.resolve("maps")).stream()
                    .filter(line -> line.split("\\s+")[1].contains("x") && line.contains(" /memfd:" + name))
                    .mapToLong(line -> {
                        String[] range = line.split("\\s+")[0].split("-");
                        return Long.parseUnsignedLong(range[1], 16) - Long.parseUnsignedLong(range[0], 16);
                    }).sum();
            assertTrue(executableBytes > 0, "cat's text is mapped from the memfd");

            assertEquals(Map.of(LiveScan.ExecutableKind.EXE, new LiveScan.ExecutableUsage(1, executableBytes)),
                    executableOf(scanner.scan(), comm));
        }
    }

    @Test
    void anUnlinkedFileNamedMemfdOnAUserTmpfsIsNoMemfd(@TempDir Path dir) throws IOException {
        try (PythonChild child = PythonChild.start(HOLDS_A_FILE_NAMED_MEMFD, dir.toString())) {
            LiveScan scan = scanner.scan();

            assertEquals(Map.of(), executableOf(scan, child.comm()));
            assertEquals(Optional.of(new LiveScan.Usage(1, MIB, MIB)), usageOf(scan, child.comm()));
        }
    }

    @Test
    void theProcMethodLeavesTheExecutableFamiliesOut() throws IOException {
        try (LiveScanner proc = LiveMemfdScannerTest.scanner(LiveScan.Method.PROC, Long.MAX_VALUE)) {
            LiveScan scan = proc.scan();
            assertEquals(Optional.empty(), scan.executable());
            assertEquals(Optional.empty(), scan.allocatedByCgroup());
        }
    }

    private static Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> executableOf(LiveScan scan, String comm) {
        CommKey key = new CommKey(comm.getBytes(StandardCharsets.UTF_8));
        Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> kinds = new java.util.EnumMap<>(LiveScan.ExecutableKind.class);
        scan.executable().orElseThrow().forEach((executable, usage) -> {
            if (executable.comm().equals(key)) {
                kinds.put(executable.kind(), usage);
            }
        });
        return kinds;
    }

    private static Optional<LiveScan.Usage> usageOf(LiveScan scan, String comm) {
        return Optional.ofNullable(scan.byComm().get(new CommKey(comm.getBytes(StandardCharsets.UTF_8))));
    }
}
