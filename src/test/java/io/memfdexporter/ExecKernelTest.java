package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.probe.ExecProbe.CommSource;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MountNamespace;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.Tool;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Fileless execution against the real kernel: python processes (each with a
 * comm of its own) execute /bin/true from memfds and from ordinary files, and
 * the exporter counts exactly the memfd executions, under the comm the caller
 * had before exec renamed it. Run once per {@link CommSource}: the kernel
 * tests both ways bpf/exec.bpf.c learns that comm.
 */
@ExtendWith(RequiresBpf.class)
@TestInstance(Lifecycle.PER_CLASS)
abstract class ExecKernelTest {
    private static final String EXECS = "memfd_exec_total";
    private static final String OBSERVED = "memfd_exec_observed_total";
    private static final String UNRECORDED = "memfd_exec_unrecorded_total";
    /** The name runc gives the memfd it copies itself into (runc 1.1: nsenter/cloned_binary.c; 1.2+: exeseal). */
    private static final String RUNC_CLONE = "runc_cloned:/proc/self/exe";
    /** Each script ends by executing /bin/true (exit 0): if that exec fails, python exits 1 and the test fails. */
    private static final String PRELUDE = """
            import ctypes, os, sys, threading
            TRUE = open("/bin/true", "rb").read()

            def memfd(name):
                fd = os.memfd_create(name)
                os.write(fd, TRUE)
                return fd

            def script_memfd(flags=0):
                # Not close-on-exec by default: the interpreter opens the script through its fd after exec.
                fd = os.memfd_create('script', flags)
                os.write(fd, b'#!/bin/sh\\nexit 0\\n')
                return fd

            def exit_code_of_child(run):
                pid = os.fork()
                if pid == 0:
                    try:
                        run()
                    finally:
                        os._exit(100)
                return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

            """;

    private Exporter exporter;

    /** The comm source under test. */
    abstract CommSource commSource();

    @BeforeAll
    void start() {
        exporter = Exporter.start(config());
    }

    private Exporter.Config config() {
        return Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)).withExecCommSource(commSource());
    }

    @AfterAll
    void stop() {
        if (exporter != null) {
            exporter.close();
        }
    }

    @Test
    void execOfAMemfdThroughProcSelfFdCountsOnceUnderTheCallersComm() throws Exception {
        Python python = Python.named(uniqueComm("mxproc"));
        python.run(PRELUDE + "fd = memfd('payload')\nos.execv(f'/proc/self/fd/{fd}', ['payload'])\n");

        assertEquals(Map.of("other/binary", 1.0), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void fexecveOfAMemfdCountsOnce() throws Exception {
        Python python = Python.named(uniqueComm("mxfexec"));
        // os.execve(fd, ...) is fexecve(3): execveat(fd, "", ..., AT_EMPTY_PATH).
        python.run(PRELUDE + "fd = memfd('payload')\nos.execve(fd, ['payload'], {})\n");

        assertEquals(Map.of("other/binary", 1.0), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void aScriptInAMemfdExecutedByFdCountsOnceViaTheInterpreter() throws Exception {
        Python viaExecveat = Python.named(uniqueComm("mxscrfx"));
        // os.execve(fd, ...) is execveat(fd, "", ..., AT_EMPTY_PATH): the kernel names the script /dev/fd/N.
        viaExecveat.run(PRELUDE + "os.execve(script_memfd(), ['script'], {})\n");
        Python viaProcSelfFd = Python.named(uniqueComm("mxscrfd"));
        viaProcSelfFd.run(PRELUDE + "fd = script_memfd()\nos.execv(f'/proc/self/fd/{fd}', ['script'])\n");
        Python viaDevFd = Python.named(uniqueComm("mxscrdev"));
        viaDevFd.run(PRELUDE + "fd = script_memfd()\nos.execv(f'/dev/fd/{fd}', ['script'])\n");

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("other/interpreter", 1.0), execsOf(metrics, viaExecveat.comm()));
        assertEquals(Map.of("other/interpreter", 1.0), execsOf(metrics, viaProcSelfFd.comm()));
        assertEquals(Map.of("other/interpreter", 1.0), execsOf(metrics, viaDevFd.comm()));
    }

    @Test
    void aCloseOnExecScriptMemfdNeverReachesItsInterpreterAndIsNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("mxscrcx"));
        // execveat of a close-on-exec script fd: the kernel refuses it with ENOENT (binfmt_script). By path, the
        // kernel starts /bin/sh, which finds the fd closed and fails (exit 2): the memfd's code never ran.
        Python.Result result = python.run(PRELUDE + """
                fd = script_memfd(os.MFD_CLOEXEC)
                try:
                    os.execve(fd, ['script'], {})
                except OSError as e:
                    print(e.errno)
                print(exit_code_of_child(lambda: os.execv(f'/proc/self/fd/{fd}', ['script'])))
                """);

        assertEquals(List.of("2", "2"), result.stdout().lines().toList(), "ENOENT, then sh's exit code 2");
        assertEquals(Map.of(), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void aScriptOnDiskIsNotCountedByPathOrByFd(@TempDir Path dir) throws Exception {
        Path script = Files.writeString(dir.resolve("script"), "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Python python = Python.named(uniqueComm("mxscrdsk"));
        python.run(PRELUDE + """
                assert exit_code_of_child(lambda: os.execv('%1$s', ['script'])) == 0
                fd = os.open('%1$s', os.O_RDONLY)
                os.set_inheritable(fd, True)  # python opens close-on-exec
                assert exit_code_of_child(lambda: os.execve(fd, ['script'], {})) == 0
                os.execv(f'/proc/self/fd/{fd}', ['script'])
                """.formatted(script));

        assertEquals(Map.of(), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void execOfAnOrdinaryFileIsNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("mxplain"));
        python.run(PRELUDE + "os.execv('/bin/true', ['true'])\n");

        assertEquals(Map.of(), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void execOfAnUnlinkedShmFileNamedLikeAMemfdIsNotCounted() throws Exception {
        Python python = Python.named(uniqueComm("mxshm"));
        // Unlinked, on tmpfs, nlink 0, dentry "memfd:...": everything but the kernel's internal mount. The
        // tmpfs at /dev/shm is the test's own: containers and hardened hosts mount theirs noexec, where the
        // exec itself would fail (and python exit 1) before the exporter could be fooled.
        try (MountNamespace namespace = MountNamespace.withExecutableTmpfsAt("/dev/shm")) {
            python.in(namespace).run(PRELUDE + """
                    path = f'/dev/shm/memfd:{os.getpid()}'
                    assert os.statvfs('/dev/shm').f_flag & os.ST_NOEXEC == 0
                    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o700)
                    os.write(fd, TRUE)
                    os.close(fd)
                    fd = os.open(path, os.O_RDONLY)
                    os.unlink(path)
                    os.execv(f'/proc/self/fd/{fd}', ['spoof'])
                    """);
        }

        assertEquals(Map.of(), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void anyProcessExecutingAMemfdNamedLikeRuncsCloneIsOther() throws Exception {
        // The name runc gives its clone is one any process can choose: by itself it proves nothing.
        Python viaProcSelfFd = Python.named(uniqueComm("mxrncfd"));
        viaProcSelfFd.run(PRELUDE + "fd = memfd('%s')\nos.execv(f'/proc/self/fd/{fd}', ['runc'])\n".formatted(RUNC_CLONE));
        Python viaFexecve = Python.named(uniqueComm("mxrncfx"));
        viaFexecve.run(PRELUDE + "os.execve(memfd('%s'), ['runc'], {})\n".formatted(RUNC_CLONE));

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("other/binary", 1.0), execsOf(metrics, viaProcSelfFd.comm()));
        assertEquals(Map.of("other/binary", 1.0), execsOf(metrics, viaFexecve.comm()));
    }

    @Test
    void aRootOwnedRuncWritableOnlyByRootExecutingItsCloneIsRunc(@TempDir Path dir) throws Exception {
        // Root running a root-owned file named runc: the evidence root can always give (root can forge it).
        Path runc = Python.copyOfInterpreter(dir.resolve("runc"), 0, "rwxr-xr-x");
        Python viaProcSelfFd = Python.named(uniqueComm("mxrunfd")).executing(runc);
        viaProcSelfFd.run(PRELUDE + "fd = memfd('%s')\nos.execv(f'/proc/self/fd/{fd}', ['runc'])\n".formatted(RUNC_CLONE));
        Python viaFexecve = Python.named(uniqueComm("mxrunfx")).executing(runc);
        viaFexecve.run(PRELUDE + "os.execve(memfd('%s'), ['runc'], {})\n".formatted(RUNC_CLONE));
        // The same runc executing a memfd of another name.
        Python otherName = Python.named(uniqueComm("mxrunot")).executing(runc);
        otherName.run(PRELUDE + "os.execve(memfd('payload'), ['payload'], {})\n");

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("runc/binary", 1.0), execsOf(metrics, viaProcSelfFd.comm()));
        assertEquals(Map.of("runc/binary", 1.0), execsOf(metrics, viaFexecve.comm()));
        assertEquals(Map.of("other/binary", 1.0), execsOf(metrics, otherName.comm()));
    }

    @ParameterizedTest(name = "{0} owned by uid {1}, mode {2}")
    @CsvSource({
        "runc,  65534, rwxr-xr-x", // a user's file
        "runc,  0,     rwxrwxrwx", // anyone may have written it
        "runc,  0,     rwxrwxr-x", // the group may have written it
        "runcc, 0,     rwxr-xr-x", // not named runc
        "xrunc, 0,     rwxr-xr-x",
    })
    void aCallerThatIsNotATrustedRuncExecutingRuncsCloneNameIsOther(String fileName, int uid, String mode, @TempDir Path dir)
            throws Exception {
        Path copy = Python.copyOfInterpreter(dir.resolve(fileName), uid, mode);
        Python python = Python.named(uniqueComm("mxnotrn")).executing(copy);
        python.run(PRELUDE + "os.execve(memfd('%s'), ['runc'], {})\n".formatted(RUNC_CLONE));

        assertEquals(Map.of("other/binary", 1.0), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void theRealRuncRunByAUserIsOther(@TempDir Path dir) throws Exception {
        // Any user may run the real runc binary, with LD_PRELOAD or under ptrace, and make it execute
        // whatever it likes: here the root-owned "runc" is driven by its script, as uid 65534.
        Path runc = Python.copyOfInterpreter(dir.resolve("runc"), 0, "rwxr-xr-x");
        Python python = Python.named(uniqueComm("mxrunusr")).executing(runc);
        python.run(PRELUDE + """
                fd = memfd('%s')
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                os.execve(fd, ['runc'], {})
                """.formatted(RUNC_CLONE));

        assertEquals(Map.of("other/binary", 1.0), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void rootRunningRuncInsideAPidNamespaceIsOther(@TempDir Path dir) throws Exception {
        // A container's root (no user namespace: the host's uid 0) can make a root-owned file named runc
        // in its own root file system, but it runs in a pid namespace of its own.
        Path runc = Python.copyOfInterpreter(dir.resolve("runc"), 0, "rwxr-xr-x");
        Python python = Python.named(uniqueComm("mxrunpns")).executing(runc);
        python.run(PRELUDE + """
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.unshare(0x20000000) != 0:  # CLONE_NEWPID: the children are in the new namespace
                    raise OSError(ctypes.get_errno(), 'unshare')
                fd = memfd('%s')
                pid = os.fork()
                if pid == 0:
                    os.execve(fd, ['runc'], {})
                sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
                """.formatted(RUNC_CLONE));

        assertEquals(Map.of("other/binary", 1.0), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void theRealRuncStartingAContainerIsNeverOther(@TempDir Path bundle) throws Exception {
        Path runc = Tool.RUNC.path();
        assertEquals(0, Tool.RUNC.run("spec", "--bundle", bundle.toString()).exitCode());
        // A container that runs /bin/true from the host's /usr, bound read-only: no image needed. Without
        // the cgroup mount (this host's hybrid cgroups refuse it) and without a terminal.
        JsonObject spec = new JsonObject(Files.readString(bundle.resolve("config.json")));
        spec.getJsonObject("process").put("terminal", false).put("args", new JsonArray().add("/bin/true"));
        spec.put("root", new JsonObject().put("path", "rootfs").put("readonly", true));
        JsonArray mounts = new JsonArray();
        spec.getJsonArray("mounts").stream().map(JsonObject.class::cast)
                .filter(mount -> !"cgroup".equals(mount.getString("type"))).forEach(mounts::add);
        spec.put("mounts", mounts.add(new JsonObject().put("destination", "/usr").put("type", "bind").put("source", "/usr")
                .put("options", new JsonArray().add("rbind").add("ro"))));
        Files.writeString(bundle.resolve("config.json"), spec.encodePrettily());
        Path rootfs = Files.createDirectory(bundle.resolve("rootfs"));
        for (String usrMerged : List.of("bin", "lib", "lib64")) {
            Files.createSymbolicLink(rootfs.resolve(usrMerged), Path.of("usr", usrMerged));
        }
        String runcComm = uniqueComm("mxrealrc");
        Path named = Files.createSymbolicLink(bundle.resolve(runcComm), runc); // the parent's comm

        Exposition before = Http.scrape(exporter.port());
        Process container = new ProcessBuilder(named.toString(), "--root", bundle.resolve("state").toString(), "run",
                "--bundle", bundle.toString(), runcComm).redirectErrorStream(true).start();
        String output = new String(container.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, container.waitFor(), "runc run: " + output);
        Exposition after = Http.scrape(exporter.port());

        // runc re-executes "runc init" (started as /proc/self/exe: comm "exe") from a sealed copy of itself.
        // Debian 12's runc 1.1.5 makes that copy, as root, a read-only bind mount of its binary (no memfd:
        // nothing to count); runc >= 1.1.9 a memfd named runc_cloned:/proc/self/exe, which root's runc
        // executes as the tests above do (kind runc). Either way, never "other".
        double runcKind = execsDelta(before, after, "exe", "runc") + execsDelta(before, after, runcComm, "runc");
        assertEquals(0, execsDelta(before, after, "exe", "other") + execsDelta(before, after, runcComm, "other"));
        System.out.println("runc run: " + runcKind + " memfd execution(s) of kind runc, none of kind other");
    }

    @Test
    void execFromANonLeaderThreadCountsUnderThatThreadsComm() throws Exception {
        Python python = Python.named(uniqueComm("mxleader"));
        String threadComm = uniqueComm("mxthread");
        // The exec changes the thread's id to the process id: the probe finds the stashed comm by the old one.
        python.run(PRELUDE + """
                fd = memfd('threaded')
                def run():
                    ctypes.CDLL(None).prctl(15, b'%s', 0, 0, 0)  # PR_SET_NAME
                    os.execv(f'/proc/self/fd/{fd}', ['threaded'])
                thread = threading.Thread(target=run)
                thread.start()
                thread.join()
                sys.exit('the exec from the thread failed')
                """.formatted(threadComm));

        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(Map.of("other/binary", 1.0), execsOf(metrics, threadComm));
        assertEquals(Map.of(), execsOf(metrics, python.comm()));
    }

    @Test
    void aFailedExecIsNotCountedAndTheNextOneIs() throws Exception {
        Python python = Python.named(uniqueComm("mxfail"));
        Python.Result result = python.run(PRELUDE + """
                garbage = os.memfd_create('garbage')
                os.write(garbage, b'not an executable')
                try:
                    os.execve(garbage, ['garbage'], {})
                except OSError as e:
                    print(e.errno, flush=True)
                fd = memfd('payload')
                os.execve(fd, ['payload'], {})
                """);

        assertEquals("8", result.stdout().strip(), "ENOEXEC");
        assertEquals(Map.of("other/binary", 1.0), execsOf(Http.scrape(exporter.port()), python.comm()));
    }

    @Test
    void a32BitExecIsCounted() throws Exception {
        Assumptions.assumeTrue(System.getProperty("os.arch").equals("amd64"), "int 0x80 is x86");
        Python python = Python.named(uniqueComm("mxcompat"));
        Exposition before = Http.scrape(exporter.port());
        // A 64-bit process may make 32-bit system calls with int 0x80; the syscall tracepoints ignore
        // them, the sched tracepoints do not. Pointers must fit in 32 bits: MAP_32BIT memory.
        Python.Result result = python.run(PRELUDE + """
                import mmap, struct
                fd = memfd('compat')
                page = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40,  # MAP_32BIT
                                 prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
                base = ctypes.addressof(ctypes.c_char.from_buffer(page))
                path = f'/proc/self/fd/{fd}'.encode() + b'\\0'
                page[256:256 + len(path)] = path
                page[512:520] = struct.pack('<II', base + 256, 0)  # argv
                page[528:532] = struct.pack('<I', 0)  # envp
                code = (b'\\x53'  # push rbx
                        + b'\\xb8' + struct.pack('<I', 11)  # mov eax, __NR_execve (i386)
                        + b'\\xbb' + struct.pack('<I', base + 256)  # mov ebx, path
                        + b'\\xb9' + struct.pack('<I', base + 512)  # mov ecx, argv
                        + b'\\xba' + struct.pack('<I', base + 528)  # mov edx, envp
                        + b'\\xcd\\x80\\x5b\\xc3')  # int 0x80; pop rbx; ret
                page[0:len(code)] = code
                pid = os.fork()
                if pid == 0:
                    os._exit(256 + ctypes.CFUNCTYPE(ctypes.c_int)(base)())  # returns only when the exec failed
                status = os.waitpid(pid, 0)[1]
                print('executed' if os.waitstatus_to_exitcode(status) == 0 else f'no 32-bit syscalls: {status}')
                """);
        Assumptions.assumeTrue(result.stdout().strip().equals("executed"), result.stdout());

        Exposition after = Http.scrape(exporter.port());
        if (commSource() == CommSource.PREPARE_EXEC) {
            // The forked child still has python's comm when it execs.
            assertEquals(Map.of("other/binary", 1.0), execsOf(after, python.comm()));
        } else {
            assertEquals(1, delta(before, after, EXECS, "comm", "(unknown)", "memfd_name_kind", "other", "via", "binary"));
            assertEquals(Map.of(), execsOf(after, python.comm()));
        }
    }

    @Test
    void exposesItsMapsAndHealth() {
        Exposition metrics = Http.scrape(exporter.port());
        assertEquals(MemfdProbe.DEFAULT_MAX_COMMS, metrics.value("memfd_exporter_bpf_map_capacity", "map", "execs_by_comm"));
        assertEquals(8192, metrics.value("memfd_exporter_bpf_map_capacity", "map", "exec_comm_stash"));
        assertEquals(0, metrics.value("memfd_exporter_map_read_errors_total", "probe", "exec"));
        assertTrue(metrics.hasFamily(OBSERVED) && metrics.hasFamily(UNRECORDED));
        assertEquals(200, Http.get(exporter.port(), "/-/healthy", null).statusCode());
    }

    @Test
    void attachesExactlyTheProgramsOfItsCommSource() {
        Set<String> programs = Http.scrape(exporter.port()).family("memfd_exporter_bpf_program_runs_total").stream()
                .map(sample -> sample.labels().get("program")).collect(Collectors.toSet());
        Set<String> execPrograms = Set.of("sched_prepare_exec", "sched_process_exec", "sys_enter_execve",
                "sys_enter_execveat", "sys_exit_execve", "sys_exit_execveat");
        programs.retainAll(execPrograms);
        assertEquals(Set.copyOf(commSource().programs()), programs);
    }

    @Test
    void aFullMapCountsWhatItCannotRecordAndTheSumStaysExact() throws Exception {
        int capacity = 2;
        try (Exporter small = Exporter.start(config().withMaxComms(capacity))) {
            List<Python> pythons = List.of(Python.named(uniqueComm("mxfull0")), Python.named(uniqueComm("mxfull1")),
                    Python.named(uniqueComm("mxfull2")), Python.named(uniqueComm("mxfull3")));
            for (Python python : pythons) {
                python.run(PRELUDE + "os.execve(memfd('payload'), ['payload'], {})\n");
            }
            Exposition metrics = stableScrape(small.port());

            // Other memfd executions on this host may take entries too; these hold whatever they do.
            assertEquals(capacity, metrics.value("memfd_exporter_bpf_map_entries", "map", "execs_by_comm"));
            long recorded = 0;
            for (Python python : pythons) {
                Map<String, Double> execs = execsOf(metrics, python.comm());
                assertTrue(execs.equals(Map.of()) || execs.equals(Map.of("other/binary", 1.0)), python.comm() + ": " + execs);
                recorded += execs.size();
            }
            double unrecorded = metrics.value(UNRECORDED);
            assertTrue(recorded <= capacity && unrecorded >= pythons.size() - recorded,
                    recorded + " recorded, " + unrecorded + " unrecorded");
            assertEquals(metrics.value(OBSERVED), metrics.sum(EXECS) + unrecorded, "per-key sum + unrecorded == observed");
        }
    }

    /** memfd_exec_total of one comm, by "memfd_name_kind/via". */
    private static Map<String, Double> execsOf(Exposition metrics, String comm) {
        return metrics.family(EXECS).stream().filter(sample -> sample.labels().get("comm").equals(comm))
                .collect(Collectors.toMap(sample -> sample.labels().get("memfd_name_kind") + "/" + sample.labels().get("via"),
                        Exposition.Sample::value));
    }

    /** The increase of memfd_exec_total{comm, memfd_name_kind} over both vias; a series absent before counts from 0. */
    private static double execsDelta(Exposition before, Exposition after, String comm, String kind) {
        return kindTotal(execsOf(after, comm), kind) - kindTotal(execsOf(before, comm), kind);
    }

    private static double kindTotal(Map<String, Double> execs, String kind) {
        return execs.entrySet().stream().filter(e -> e.getKey().startsWith(kind + "/")).mapToDouble(Map.Entry::getValue).sum();
    }

    private static double delta(Exposition before, Exposition after, String name, String... labels) {
        return after.value(name, labels) - before.value(name, labels);
    }

    /** Two consecutive scrapes that agree: no memfd was executed while the maps were read. */
    private static Exposition stableScrape(int port) {
        Exposition previous = Http.scrape(port);
        for (int attempt = 0; attempt < 50; attempt++) {
            Exposition next = Http.scrape(port);
            if (next.value(OBSERVED) == previous.value(OBSERVED)) {
                return next;
            }
            previous = next;
        }
        throw new AssertionError("memfd executions on this host never paused for a consistent read");
    }
}
