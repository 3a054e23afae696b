package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;

/**
 * Executable memfd mappings against the real kernel: python processes (each
 * with a comm of its own) map memfds and other memory executable with mmap,
 * mprotect and pkey_mprotect, and the exporter counts exactly the calls that
 * left a memfd executable, by syscall and kind.
 */
@ExtendWith(RequiresBpf.class)
@TestInstance(Lifecycle.PER_CLASS)
class ExecMappingKernelTest {
    private static final String MAPPINGS = "memfd_exec_mappings_total";
    private static final String OBSERVED = "memfd_exec_mappings_observed_total";
    private static final String UNRECORDED = "memfd_exec_mappings_unrecorded_total";
    private static final String UNCHECKED = "memfd_exec_mappings_unchecked_total";
    /** Helpers every script uses; each call raises OSError when it fails, so a script that exits 0 did every call. */
    private static final String PRELUDE = """
            import ctypes, fcntl, os, sys, threading
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            libc.syscall.restype = ctypes.c_long
            PAGE = 4096
            PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
            MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x1, 0x2, 0x10, 0x20
            MAP_FAILED = ctypes.c_void_p(-1).value
            SYS_pkey_mprotect = 329
            F_ADD_SEALS, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE = 1033, 0x8, 0x10

            def memfd(name='code', flags=0, pages=1):
                fd = os.memfd_create(name, flags)
                os.write(fd, b'\\xc3' * PAGE * pages)  # ret
                return fd

            def mmap(fd, prot, flags=MAP_PRIVATE, length=PAGE, addr=None, offset=0):
                got = libc.mmap(addr, length, prot, flags, fd, offset)
                if got == MAP_FAILED:
                    raise OSError(ctypes.get_errno(), 'mmap')
                return got

            def mprotect(addr, prot, length=PAGE):
                if libc.mprotect(addr, length, prot) != 0:
                    raise OSError(ctypes.get_errno(), 'mprotect')

            def pkey_mprotect(addr, prot, length=PAGE):
                # pkey -1: the default key, accepted without protection-key hardware.
                if libc.syscall(SYS_pkey_mprotect, ctypes.c_void_p(addr), ctypes.c_size_t(length), prot, -1) != 0:
                    raise OSError(ctypes.get_errno(), 'pkey_mprotect')

            def fails(errno, call, *args, **kwargs):
                try:
                    call(*args, **kwargs)
                except OSError as e:
                    assert e.errno == errno, e
                    return
                raise AssertionError(f'{call.__name__} succeeded')

            """;

    private Exporter exporter;

    @BeforeAll
    void start() {
        exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)));
    }

    @AfterAll
    void stop() {
        if (exporter != null) {
            exporter.close();
        }
    }

    @Test
    void mmapOfAMemfdReadableAndExecutableCountsOnce() throws Exception {
        Python python = Python.named(uniqueComm("xmmmap"));
        python.run(PRELUDE + "mmap(memfd(), PROT_READ | PROT_EXEC)\n");

        assertEquals(Map.of("mmap/plain", 1.0), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void mprotectOfAMemfdMappingToExecutableCountsOnce() throws Exception {
        Python python = Python.named(uniqueComm("xmmprot"));
        // The read-only mmap is not counted, the mprotect that adds PROT_EXEC is; one back to read-only is not.
        python.run(PRELUDE + """
                addr = mmap(memfd(), PROT_READ)
                mprotect(addr, PROT_READ | PROT_EXEC)
                mprotect(addr, PROT_READ)
                """);

        assertEquals(Map.of("mprotect/plain", 1.0), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void pkeyMprotectOfAMemfdMappingToExecutableCountsOnce() throws Exception {
        Python python = Python.named(uniqueComm("xmpkey"));
        python.run(PRELUDE + "pkey_mprotect(mmap(memfd(), PROT_READ), PROT_READ | PROT_EXEC)\n");

        assertEquals(Map.of("pkey_mprotect/plain", 1.0), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void readImpliesExecPersonalityMakesAReadOnlyMmapOfAMemfdCount() throws Exception {
        Python python = Python.named(uniqueComm("xmrie"));
        // personality(READ_IMPLIES_EXEC): the kernel adds PROT_EXEC to PROT_READ; no PROT_EXEC in the arguments.
        python.run(PRELUDE + """
                assert libc.personality(0x0400000) != -1
                addr = mmap(memfd(), PROT_READ)
                assert any(line.startswith(f'{addr:x}-') and ' r-x' in line for line in open('/proc/self/maps'))
                mprotect(mmap(memfd(), PROT_NONE), PROT_READ)
                """);

        assertEquals(Map.of("mmap/plain", 1.0, "mprotect/plain", 1.0), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void executableAnonymousMemoryIsNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("xmanon"));
        python.run(PRELUDE + """
                mmap(-1, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS)
                addr = mmap(-1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
                mprotect(addr, PROT_READ | PROT_EXEC)
                pkey_mprotect(addr, PROT_READ | PROT_EXEC)
                """);

        assertEquals(Map.of(), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void anExecutableMappingOfARegularFileIsNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("xmfile"));
        python.run(PRELUDE + """
                fd = os.open('/bin/true', os.O_RDONLY)
                mmap(fd, PROT_READ | PROT_EXEC)
                mprotect(mmap(fd, PROT_READ), PROT_READ | PROT_EXEC)
                """);

        assertEquals(Map.of(), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void failedCallsAreNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("xmfail"));
        python.run(PRELUDE + """
                import errno
                fd = memfd()
                # MFD_NOEXEC_SEAL refuses execve of the memfd, not mmap(PROT_EXEC): that one succeeds (not done here).
                write_only = os.open(f'/proc/self/fd/{fd}', os.O_WRONLY)
                fails(errno.EACCES, mmap, write_only, PROT_READ | PROT_EXEC)  # mmap needs read access
                fails(errno.EINVAL, mmap, fd, PROT_READ | PROT_EXEC, offset=1)  # unaligned offset
                addr = mmap(-1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, length=2 * PAGE)
                mmap(fd, PROT_READ, MAP_PRIVATE | MAP_FIXED, addr=addr)
                if libc.munmap(ctypes.c_void_p(addr + PAGE), PAGE) != 0:
                    raise OSError(ctypes.get_errno(), 'munmap')
                fails(errno.EINVAL, mprotect, addr + 1, PROT_READ | PROT_EXEC)  # unaligned start
                fails(errno.ENOMEM, mprotect, addr, PROT_READ | PROT_EXEC, 2 * PAGE)  # the second page is not mapped
                fails(errno.ENOMEM, pkey_mprotect, addr, PROT_READ | PROT_EXEC, 2 * PAGE)
                shared_readonly = os.open(f'/proc/self/fd/{fd}', os.O_RDONLY)
                addr = mmap(shared_readonly, PROT_READ, MAP_SHARED)
                fails(errno.EACCES, mprotect, addr, PROT_READ | PROT_WRITE | PROT_EXEC)  # no write access to the file
                """);

        assertEquals(Map.of(), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void anUnlinkedFileNamedLikeAMemfdOnAMountedTmpfsIsNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("xmspoof"));
        // Unlinked, on tmpfs, nlink 0, dentry "memfd:...": everything but the kernel's internal mount. The
        // tmpfs is mounted in a private mount namespace of this process: gone when it exits.
        python.run(PRELUDE + """
                import tempfile
                if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
                    raise OSError(ctypes.get_errno(), 'unshare')
                if libc.mount(b'none', b'/', None, 0x40000 | 0x4000, None) != 0:  # MS_PRIVATE | MS_REC
                    raise OSError(ctypes.get_errno(), 'mount --make-rprivate /')
                dir = tempfile.mkdtemp()
                if libc.mount(b'tmpfs', dir.encode(), b'tmpfs', 0, None) != 0:
                    raise OSError(ctypes.get_errno(), 'mount tmpfs')
                path = f'{dir}/memfd:code'
                fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o700)
                os.write(fd, b'\\xc3' * PAGE)
                os.unlink(path)
                assert os.fstat(fd).st_nlink == 0
                mmap(fd, PROT_READ | PROT_EXEC)
                mprotect(mmap(fd, PROT_READ), PROT_READ | PROT_EXEC)
                """);

        assertEquals(Map.of(), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void dlopenOfALibraryWrittenIntoAMemfdCountsEachExecutableMappingTheLoaderMade() throws Exception {
        Python python = Python.named(uniqueComm("xmdlopen"));
        // A library python has not loaded (a second copy of one it has, by soname, would not be mapped at all).
        Python.Result result = python.run(PRELUDE + """
                fd = os.memfd_create('library', 0)
                os.write(fd, open('/usr/lib/x86_64-linux-gnu/libz.so.1', 'rb').read())
                ctypes.CDLL(f'/proc/self/fd/{fd}')
                maps = [line.split() for line in open('/proc/self/maps')]
                print(sum(1 for m in maps if len(m) > 5 and m[5] == '/memfd:library' and 'x' in m[1]))
                """);

        int executableMappings = Integer.parseInt(result.stdout().strip());
        assertTrue(executableMappings >= 1, "the loader mapped the library's code: " + executableMappings);
        Map<String, Double> counted = mappingsOf(Http.scrape(exporter.port()), python.comm());
        assertEquals(Map.of("mmap/plain", (double) executableMappings), counted, "one per executable mapping in /proc/PID/maps");
    }

    @Test
    void aMemfdWithASharedWritableMappingIsDoubleMappedAndOnlyThen() throws Exception {
        Python doubleMapped = Python.named(uniqueComm("xmdouble"));
        // The W^X JIT pattern: write through one shared view, execute another of the same pages.
        doubleMapped.run(PRELUDE + """
                fd = memfd()
                mmap(fd, PROT_READ | PROT_WRITE, MAP_SHARED)
                mmap(fd, PROT_READ | PROT_EXEC, MAP_SHARED)
                """);
        Python sharedAlone = Python.named(uniqueComm("xmshared"));
        // The same executable shared view alone: it may be made writable itself (VM_MAYWRITE), but it is not
        // a second view. A private writable mapping is no second view of the pages either.
        sharedAlone.run(PRELUDE + """
                fd = memfd()
                mmap(fd, PROT_READ | PROT_WRITE, MAP_PRIVATE)
                mmap(fd, PROT_READ | PROT_EXEC, MAP_SHARED)
                """);
        Python elsewhere = Python.named(uniqueComm("xmdblfork"));
        // The writable view held by another process (a child): the same pages, so still double_mapped.
        elsewhere.run(PRELUDE + """
                fd = memfd()
                mapped, done = os.pipe(), os.pipe()
                pid = os.fork()
                if pid == 0:
                    mmap(fd, PROT_READ | PROT_WRITE, MAP_SHARED)
                    os.write(mapped[1], b'x')
                    os.read(done[0], 1)
                    os._exit(0)
                os.read(mapped[0], 1)
                mprotect(mmap(fd, PROT_READ), PROT_READ | PROT_EXEC)
                os.write(done[1], b'x')
                assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
                """);

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("mmap/double_mapped", 1.0), mappingsOf(metrics, doubleMapped.comm()));
        assertEquals(Map.of("mmap/plain", 1.0), mappingsOf(metrics, sharedAlone.comm()));
        assertEquals(Map.of("mprotect/double_mapped", 1.0), mappingsOf(metrics, elsewhere.comm()));
    }

    @Test
    void aWriteSealedMemfdIsSealedUnlessAWritableViewOutlivedTheSeal() throws Exception {
        Python sealed = Python.named(uniqueComm("xmsealed"));
        sealed.run(PRELUDE + """
                fd = memfd(flags=os.MFD_ALLOW_SEALING)
                fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)
                mmap(fd, PROT_READ | PROT_EXEC)
                future = memfd(flags=os.MFD_ALLOW_SEALING)
                fcntl.fcntl(future, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)
                # Private: before Linux 6.7 a shared mapping of it would count itself as a writable view.
                mprotect(mmap(future, PROT_READ), PROT_READ | PROT_EXEC)
                """);
        Python outlived = Python.named(uniqueComm("xmsealdbl"));
        // F_SEAL_FUTURE_WRITE leaves the shared writable mapping made before it: the code can still change.
        outlived.run(PRELUDE + """
                fd = memfd(flags=os.MFD_ALLOW_SEALING)
                mmap(fd, PROT_READ | PROT_WRITE, MAP_SHARED)
                fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)
                mmap(fd, PROT_READ | PROT_EXEC)
                """);

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("mmap/sealed", 1.0, "mprotect/sealed", 1.0), mappingsOf(metrics, sealed.comm()));
        assertEquals(Map.of("mmap/double_mapped", 1.0), mappingsOf(metrics, outlived.comm()));
    }

    @Test
    void anMprotectRangeOverSeveralMappingsCountsOnceWhenOneIsAMemfd() throws Exception {
        Python python = Python.named(uniqueComm("xmrange"));
        // Four VMAs that cannot merge: anonymous, a memfd, the regular file, another memfd; one call.
        python.run(PRELUDE + """
                base = mmap(-1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, length=4 * PAGE)
                file = os.open('/bin/true', os.O_RDONLY)
                mmap(memfd('first'), PROT_READ, MAP_PRIVATE | MAP_FIXED, addr=base + PAGE)
                mmap(file, PROT_READ, MAP_PRIVATE | MAP_FIXED, addr=base + 2 * PAGE)
                mmap(memfd('second'), PROT_READ, MAP_PRIVATE | MAP_FIXED, addr=base + 3 * PAGE)
                mprotect(base, PROT_READ | PROT_EXEC, 4 * PAGE)
                """);

        assertEquals(Map.of("mprotect/plain", 1.0), mappingsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void anMprotectRangeWithTheMemfdBeyondTheWalkedMappingsIsUnchecked() throws Exception {
        Python python = Python.named(uniqueComm("xmlong"));
        // Eight pages of a regular file at non-consecutive offsets (eight VMAs that cannot merge), then a memfd.
        String script = PRELUDE + """
                base = mmap(-1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, length=9 * PAGE)
                file = os.open('/usr/lib/x86_64-linux-gnu/libz.so.1', os.O_RDONLY)
                for i in range(8):
                    mmap(file, PROT_READ, MAP_PRIVATE | MAP_FIXED, addr=base + i * PAGE, offset=2 * i * PAGE)
                mmap(memfd(), PROT_READ, MAP_PRIVATE | MAP_FIXED, addr=base + 8 * PAGE)
                mprotect(base, PROT_READ | PROT_EXEC, 9 * PAGE)
                """;
        Exposition before = stableScrape();
        python.run(script);
        Exposition after = stableScrape();

        assertEquals(Map.of(), mappingsOf(after, python.comm()));
        assertEquals(1, after.value(UNCHECKED) - before.value(UNCHECKED), "nothing else on this host maps that way");
    }

    @Test
    void aContendedAddressSpaceHidesNoCallSilently() throws Exception {
        Python mapper = Python.named(uniqueComm("xmracemm"));
        Python protector = Python.named(uniqueComm("xmracemp"));
        int calls = 2000;
        // Two other threads map and unmap without pause, so bpf_find_vma() often cannot take the address
        // space's lock without waiting: mmap then answers from its fd argument, mprotect counts as unchecked.
        String churn = PRELUDE + """
                stop = threading.Event()
                def churn():
                    while not stop.is_set():
                        libc.munmap(ctypes.c_void_p(mmap(-1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)), PAGE)
                threads = [threading.Thread(target=churn) for _ in range(2)]
                for thread in threads:
                    thread.start()
                fd = memfd()
                for _ in range(%d):
                    %s
                stop.set()
                for thread in threads:
                    thread.join()
                """;
        mapper.run(churn.formatted(calls, "libc.munmap(ctypes.c_void_p(mmap(fd, PROT_READ | PROT_EXEC)), PAGE)"));
        Exposition before = stableScrape();
        protector.run(churn.formatted(calls, """
                addr = mmap(fd, PROT_READ)
                    mprotect(addr, PROT_READ | PROT_EXEC)
                    libc.munmap(ctypes.c_void_p(addr), PAGE)"""));
        Exposition after = stableScrape();

        assertEquals(Map.of("mmap/plain", (double) calls), mappingsOf(after, mapper.comm()));
        double counted = mappingsOf(after, protector.comm()).getOrDefault("mprotect/plain", 0.0);
        double unchecked = after.value(UNCHECKED) - before.value(UNCHECKED);
        System.out.println("contended mprotect: " + counted + " counted, " + unchecked + " unchecked of " + calls);
        assertEquals(Map.of("mprotect/plain", counted), mappingsOf(after, protector.comm()), "nothing but those");
        // unchecked is host-wide: another process's unchecked call could only add to it.
        assertTrue(counted <= calls && counted + unchecked >= calls, counted + " counted + " + unchecked + " unchecked");
    }

    @Test
    void theCountedCommIsTheCallingThreads() throws Exception {
        Python python = Python.named(uniqueComm("xmleader"));
        String threadComm = uniqueComm("xmthread");
        python.run(PRELUDE + """
                def run():
                    libc.prctl(15, b'%s', 0, 0, 0)  # PR_SET_NAME
                    mmap(memfd(), PROT_READ | PROT_EXEC)
                thread = threading.Thread(target=run)
                thread.start()
                thread.join()
                """.formatted(threadComm));

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("mmap/plain", 1.0), mappingsOf(metrics, threadComm));
        assertEquals(Map.of(), mappingsOf(metrics, python.comm()));
    }

    @Test
    void exposesItsMapAndPrograms() {
        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(MemfdProbe.DEFAULT_MAX_COMMS, metrics.value("memfd_exporter_bpf_map_capacity", "map", "exec_mappings_by_comm"));
        assertEquals(1, metrics.value("memfd_exporter_collector_success", "collector", "exec_mappings"));
        assertTrue(metrics.hasFamily(OBSERVED) && metrics.hasFamily(UNRECORDED) && metrics.hasFamily(UNCHECKED));
        Set<String> programs = metrics.family("memfd_exporter_bpf_program_runs_total").stream()
                .map(sample -> sample.labels().get("program")).collect(Collectors.toSet());
        assertTrue(programs.containsAll(Set.of("sys_exit_mmap", "sys_exit_mprotect", "sys_exit_pkey_mprotect")), programs.toString());
    }

    @Test
    void aFullMapCountsWhatItCannotRecordAndTheSumStaysExact() throws Exception {
        int capacity = 2;
        try (Exporter small = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0))
                .withMaxComms(capacity))) {
            List<Python> pythons = List.of(Python.named(uniqueComm("xmfull0")), Python.named(uniqueComm("xmfull1")),
                    Python.named(uniqueComm("xmfull2")), Python.named(uniqueComm("xmfull3")));
            for (Python python : pythons) {
                python.run(PRELUDE + "mmap(memfd(), PROT_READ | PROT_EXEC)\n");
            }
            Exposition metrics = stableScrape(small.port());

            // Other executable memfd mappings on this host may take entries too; these hold whatever they do.
            assertEquals(capacity, metrics.value("memfd_exporter_bpf_map_entries", "map", "exec_mappings_by_comm"));
            long recorded = 0;
            for (Python python : pythons) {
                Map<String, Double> mappings = mappingsOf(metrics, python.comm());
                assertTrue(mappings.equals(Map.of()) || mappings.equals(Map.of("mmap/plain", 1.0)), python.comm() + ": " + mappings);
                recorded += mappings.size();
            }
            double unrecorded = metrics.value(UNRECORDED);
            assertTrue(recorded <= capacity && unrecorded >= pythons.size() - recorded,
                    recorded + " recorded, " + unrecorded + " unrecorded");
            assertEquals(metrics.value(OBSERVED), metrics.sum(MAPPINGS) + unrecorded, "per-key sum + unrecorded == observed");
        }
    }

    /** memfd_exec_mappings_total of one comm, by "syscall/kind". */
    private static Map<String, Double> mappingsOf(Exposition metrics, String comm) {
        return metrics.family(MAPPINGS).stream().filter(sample -> sample.labels().get("comm").equals(comm))
                .collect(Collectors.toMap(sample -> sample.labels().get("syscall") + "/" + sample.labels().get("kind"),
                        Exposition.Sample::value));
    }

    private Exposition stableScrape() {
        return stableScrape(exporter.port());
    }

    /** Two consecutive scrapes that agree: no call was counted while the maps were read. */
    private static Exposition stableScrape(int port) {
        Exposition previous = Http.scrape(port);
        for (int attempt = 0; attempt < 50; attempt++) {
            Exposition next = Http.scrape(port);
            if (next.value(OBSERVED) == previous.value(OBSERVED) && next.value(UNCHECKED) == previous.value(UNCHECKED)) {
                return next;
            }
            previous = next;
        }
        throw new AssertionError("executable memfd mappings on this host never paused for a consistent read");
    }
}
