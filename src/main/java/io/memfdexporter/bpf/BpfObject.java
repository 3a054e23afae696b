package io.memfdexporter.bpf;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A BPF object file opened from memory, loaded into the kernel, and its
 * attached programs. Closing it detaches every program and closes every fd.
 */
public final class BpfObject implements AutoCloseable {
    private static final String TRACEPOINT_SECTION = "tracepoint/";
    private final Native nat;
    private final LibBpf libbpf;
    private final Pointer object;
    /* libbpf reads the ELF image until load: keep it reachable until then. */
    private Pointer elfImage;
    private final List<BpfLink> links = new ArrayList<>();
    private boolean closed;

    private BpfObject(Native nat, Pointer object, Pointer elfImage) {
        this.nat = nat;
        this.libbpf = nat.libbpf();
        this.object = object;
        this.elfImage = elfImage;
    }

    /**
     * Opens a BPF object embedded in the jar, after checking this process may use
     * BPF at all; nothing reaches the kernel before {@link #load()}.
     *
     * @throws BpfUnavailableException with a message for a human when it cannot be used here
     */
    public static BpfObject openResource(String resource, String name) {
        Capabilities.ofThisProcess().requireTracing();
        Native nat = Native.get();
        LibbpfLogging.install(nat);
        return open(nat, readResource(resource), name);
    }

    private static byte[] readResource(String resource) {
        try (InputStream in = BpfObject.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new BpfUnavailableException("the BPF object " + resource
                        + " is missing from the classpath: build with 'mvn package' (needs clang and libbpf-dev)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BpfUnavailableException("cannot read the BPF object " + resource + ": " + e.getMessage());
        }
    }

    /** Opens (parses) an ELF image; nothing reaches the kernel before {@link #load()}. */
    static BpfObject open(Native nat, byte[] elf, String name) {
        jnr.ffi.Runtime runtime = nat.runtime();
        Pointer image = Memory.allocateDirect(runtime, elf.length);
        image.put(0, elf, 0, elf.length);
        // struct bpf_object_open_opts up to object_name: { size_t sz; const char *object_name; }
        Pointer objectName = Memory.allocateDirect(runtime, name.length() + 1, true);
        objectName.putString(0, name, name.length() + 1, java.nio.charset.StandardCharsets.US_ASCII);
        Pointer opts = Memory.allocateDirect(runtime, 16, true);
        opts.putLong(0, 16);
        opts.putPointer(8, objectName);
        Pointer object = nat.libbpf().bpf_object__open_mem(image, elf.length, opts);
        if (object == null) {
            throw new BpfException("opening BPF object " + name, nat.lastErrno());
        }
        return new BpfObject(nat, object, image);
    }

    /** Sets a map's capacity; only before {@link #load()}. */
    public void setMaxEntries(String mapName, int maxEntries) {
        int rc = libbpf.bpf_map__set_max_entries(mapPointer(mapName), maxEntries);
        if (rc < 0) {
            throw new BpfException("setting max_entries of map " + mapName, -rc);
        }
    }

    /**
     * Creates the maps and verifies and loads the programs.
     *
     * @throws BpfUnavailableException when the kernel refuses
     */
    public void load() {
        int rc = libbpf.bpf_object__load(object);
        elfImage = null;
        if (rc == -Errnos.EPERM) {
            throw new BpfUnavailableException("the kernel refused to load the BPF program (EPERM): the process"
                    + " needs CAP_BPF and CAP_PERFMON, and kernel lockdown or a seccomp/LSM policy must allow bpf()");
        }
        if (rc < 0) {
            throw new BpfUnavailableException(new BpfException("loading BPF object", -rc).getMessage()
                    + " (run with --log.level=debug for libbpf's log)");
        }
    }

    /**
     * Attaches programs as their SEC() names say; they stay attached until
     * {@link #close()}. tracefs is made available while tracepoints are attached.
     *
     * @throws MissingTracepointException when the kernel lacks a tracepoint
     * @throws BpfUnavailableException when tracefs cannot be had
     */
    public List<BpfLink> attachAll(String... programNames) {
        List<BpfLink> attached = new ArrayList<>();
        Tracefs tracefs = null;
        try {
            for (String programName : programNames) {
                Pointer program = program(programName);
                String section = libbpf.bpf_program__section_name(program);
                if (section.startsWith(TRACEPOINT_SECTION)) {
                    if (tracefs == null) {
                        tracefs = Tracefs.ensureMounted(nat);
                    }
                    String[] categoryAndName = section.substring(TRACEPOINT_SECTION.length()).split("/", 2);
                    tracefs.requireTracepoint(categoryAndName[0], categoryAndName[1]);
                }
                attached.add(attach(programName, program));
            }
            return attached;
        } finally {
            if (tracefs != null) {
                tracefs.close();
            }
        }
    }

    private Pointer program(String programName) {
        Pointer program = libbpf.bpf_object__find_program_by_name(object, programName);
        if (program == null) {
            throw new IllegalArgumentException("no BPF program named " + programName);
        }
        return program;
    }

    private BpfLink attach(String programName, Pointer program) {
        Pointer link = libbpf.bpf_program__attach(program);
        if (link == null) {
            throw new BpfException("attaching BPF program " + programName, nat.lastErrno());
        }
        BpfLink attached = new BpfLink(libbpf, programName, link);
        links.add(attached);
        return attached;
    }

    /**
     * Runs a {@code SEC("syscall")} program once, synchronously, in this
     * thread's context: user space's way to make the kernel side do work
     * atomically with the other programs.
     *
     * @return the program's return value
     */
    public int runSyscallProgram(String programName) {
        int fd = libbpf.bpf_program__fd(program(programName));
        // struct bpf_test_run_opts, all zero but sz: no context, no data, repeat 0 (as syscall programs require).
        Pointer opts = Memory.allocateDirect(nat.runtime(), TEST_RUN_OPTS_SIZE, true);
        opts.putLong(0, TEST_RUN_OPTS_SIZE);
        int rc = libbpf.bpf_prog_test_run_opts(fd, opts);
        if (rc < 0) {
            throw new BpfException("running BPF program " + programName, -rc);
        }
        return opts.getInt(TEST_RUN_OPTS_RETVAL_OFFSET);
    }

    /* libbpf 1.1 <bpf/bpf.h> struct bpf_test_run_opts: sizeof 80, retval at offset 56 (x86-64, arm64). */
    private static final int TEST_RUN_OPTS_SIZE = 80;
    private static final int TEST_RUN_OPTS_RETVAL_OFFSET = 56;

    /** Cumulative cost of one program, kept by the kernel while BPF stats are enabled. */
    public record ProgramStats(String program, long runCount, long runTimeNanos) {
    }

    /**
     * Run count and run time of programs, from /proc/self/fdinfo of their fds:
     * zero unless {@code kernel.bpf_stats_enabled=1} (the kernel then pays ~20 ns per run to measure).
     */
    public List<ProgramStats> programStats(List<String> programNames) {
        List<ProgramStats> stats = new ArrayList<>();
        for (String programName : programNames) {
            int fd = libbpf.bpf_program__fd(program(programName));
            long runCount = 0;
            long runTime = 0;
            try {
                for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + fd))) {
                    if (line.startsWith("run_cnt:")) {
                        runCount = Long.parseLong(line.substring("run_cnt:".length()).trim());
                    } else if (line.startsWith("run_time_ns:")) {
                        runTime = Long.parseLong(line.substring("run_time_ns:".length()).trim());
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("reading fdinfo of BPF program " + programName, e);
            }
            stats.add(new ProgramStats(programName, runCount, runTime));
        }
        return stats;
    }

    /** A loaded map; its fd belongs to this object. */
    public BpfMap map(String mapName) {
        Pointer map = mapPointer(mapName);
        int fd = libbpf.bpf_map__fd(map);
        if (fd < 0) {
            throw new IllegalStateException("map " + mapName + " is not loaded");
        }
        return new BpfMap(nat, mapName, fd, libbpf.bpf_map__key_size(map), libbpf.bpf_map__value_size(map),
                libbpf.bpf_map__max_entries(map));
    }

    private Pointer mapPointer(String mapName) {
        Pointer map = libbpf.bpf_object__find_map_by_name(object, mapName);
        if (map == null) {
            throw new IllegalArgumentException("no BPF map named " + mapName);
        }
        return map;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (BpfLink link : links) {
            link.close();
        }
        libbpf.bpf_object__close(object);
    }
}
