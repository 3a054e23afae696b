package io.memfdexporter.bpf;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.logging.Logger;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A BPF object file opened from memory, loaded into the kernel, and its
 * attached programs. Closing it detaches every program and closes every fd,
 * except what is pinned (see {@link #loadAndAttach}): that stays in the kernel.
 * <p>
 * What reads need at run time (map and program fds) is resolved once, when the
 * programs are attached: no read walks libbpf's object. Reads of maps and
 * programs may run on any thread, concurrently; {@link #close()} waits for
 * those in flight and refuses later ones (see {@link Lifetime}).
 */
public final class BpfObject implements AutoCloseable {
    private static final String TRACEPOINT_SECTION = "tracepoint/";
    private static final String MAPS = "maps";
    private static final String PROGRAMS = "progs";
    private static final String LINKS = "links";
    /* bpffs refuses names with a dot (reserved for the kernel's own files). */
    private static final String PARTIAL = "-partial";
    private static final Logger LOG = Logger.getLogger(BpfObject.class.getName());

    private final Native nat;
    private final LibBpf libbpf;
    private final Pointer object;
    private final String name;
    /* SHA-256 of the ELF image, and every setting that shapes the kernel objects: the pinned state's fingerprint. */
    private final byte[] elfDigest;
    private final Map<String, Integer> maxEntries = new TreeMap<>();
    /* libbpf reads the ELF image until load: keep it reachable until then (or close, when never loaded). */
    private Pointer elfImage;
    private final List<BpfLink> links = new ArrayList<>();
    /* Every loaded program's fd, resolved at attach: libbpf's own, or (reopened from pins) ours to close. */
    private final Map<String, Integer> programFds = new HashMap<>();
    private boolean programFdsFromPins;
    private final Set<String> skippedPrograms = new HashSet<>();
    private final Lifetime lifetime;

    private BpfObject(Native nat, Pointer object, String name, byte[] elfDigest, Pointer elfImage) {
        this.nat = nat;
        this.libbpf = nat.libbpf();
        this.object = object;
        this.name = name;
        this.elfDigest = elfDigest;
        this.elfImage = elfImage;
        this.lifetime = new Lifetime(name);
    }

    /**
     * Opens a BPF object embedded in the jar, after checking this process may use
     * BPF at all; nothing reaches the kernel before {@link #loadAndAttach}.
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

    /** Opens (parses) an ELF image; nothing reaches the kernel before {@link #loadAndAttach}. */
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
        // jnr frees direct memory when its Pointer is collected, which may be right after its last Java use
        // (objectName has none: only opts' bytes point to it); keep all three until libbpf returned.
        Reference.reachabilityFence(objectName);
        Reference.reachabilityFence(opts);
        if (object == null) {
            Reference.reachabilityFence(image);
            throw new BpfException("opening BPF object " + name, nat.lastErrno());
        }
        return new BpfObject(nat, object, name, sha256().digest(elf), image);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Sets a map's capacity; only before {@link #loadAndAttach}. */
    public void setMaxEntries(String mapName, int maxEntries) {
        int rc = libbpf.bpf_map__set_max_entries(mapPointer(mapName), maxEntries);
        if (rc < 0) {
            throw new BpfException("setting max_entries of map " + mapName, -rc);
        }
        this.maxEntries.put(mapName, maxEntries);
    }

    /**
     * Leaves programs out of the load, for those the running kernel cannot
     * verify or attach; only before {@link #loadAndAttach}. They are not pinned either.
     */
    public void skipPrograms(String... programNames) {
        for (String programName : programNames) {
            int rc = libbpf.bpf_program__set_autoload(program(programName), false);
            if (rc < 0) {
                throw new BpfException("leaving program " + programName + " out of the load", -rc);
            }
            skippedPrograms.add(programName);
        }
    }

    /**
     * Loads the object and attaches the named programs: the one call a probe
     * makes. With pinning on, the maps, every program and the links are pinned
     * in {@code DIR/<object name>/<fingerprint>/}, where they keep counting
     * after this process exits. A later run whose fingerprint (this ELF image,
     * its map sizes and the attached programs) is the same reopens them instead:
     * nothing is loaded or attached again, so nothing counts twice, and the
     * counts go on. Any other state pinned for this object (another build,
     * other settings, or an interrupted run) is removed first and counts
     * restart from zero, as the log says. The caller holds {@link BpfPins#lock(Native)}:
     * another exporter on the same directory would remove this state while it is pinned.
     *
     * @throws BpfUnavailableException when the kernel refuses, or the pin directory cannot be had
     */
    public List<BpfLink> loadAndAttach(BpfPins pins, String... programNames) {
        if (!pins.enabled()) {
            load();
            return attachAll(programNames);
        }
        pins.prepare(nat);
        Path objectDir = pins.root().resolve(name);
        String fingerprint = fingerprint(programNames);
        Path state = objectDir.resolve(fingerprint);
        if (isPinnedIn(state, programNames)) {
            List<BpfLink> reopened;
            try {
                reopened = reopen(state, programNames);
            } catch (BpfException e) {
                throw new BpfUnavailableException("reopening the BPF state pinned in " + state + " failed: " + e.getMessage());
            }
            LOG.info(() -> "reattached to the BPF state pinned in " + state + ": nothing loaded or attached again,"
                    + " the kernel kept counting and the " + name + " counts continue");
            return reopened;
        }
        removeOtherStates(objectDir, fingerprint);
        load();
        List<BpfLink> attached = attachAll(programNames);
        Path partial = objectDir.resolve(fingerprint + PARTIAL);
        try {
            pin(partial, attached);
            // The state becomes visible under its final name only once complete.
            Files.move(partial, state, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            if (Files.exists(partial)) {
                BpfPins.delete(partial);
            }
            throw new BpfUnavailableException("pinning the BPF state in " + partial + " failed: " + e.getMessage());
        }
        LOG.info(() -> "pinned the BPF maps, programs and links of " + name + " in " + state + ": they stay attached"
                + " after the exporter exits, and a restart continues the counts (--bpf.unpin removes them)");
        return attached;
    }

    private String fingerprint(String... programNames) {
        MessageDigest sha = sha256();
        sha.update(elfDigest);
        sha.update(("object " + name + "\nmax_entries " + maxEntries + "\nattached " + List.of(programNames))
                .getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    private boolean isPinnedIn(Path state, String... programNames) {
        List<Path> expected = new ArrayList<>();
        forEachMap(map -> expected.add(mapPin(state, map)));
        forEachProgram(program -> expected.add(state.resolve(PROGRAMS).resolve(libbpf.bpf_program__name(program))));
        for (String programName : programNames) {
            expected.add(state.resolve(LINKS).resolve(programName));
        }
        return expected.stream().allMatch(Files::exists);
    }

    private void removeOtherStates(Path objectDir, String fingerprint) {
        List<String> states = BpfPins.entriesOf(objectDir);
        if (states.isEmpty()) {
            return;
        }
        String why = states.equals(List.of(fingerprint)) ? "is incomplete"
                : "is not this build's " + fingerprint + " (another version of the BPF object, or other --bpf settings)";
        LOG.warning(() -> "the BPF state pinned in " + objectDir + " " + states + " " + why
                + ": removing it and loading afresh; the " + name + " counts restart from zero");
        for (String stale : states) {
            BpfPins.delete(objectDir.resolve(stale));
        }
    }

    private void pin(Path dir, List<BpfLink> attached) throws IOException {
        for (String kind : List.of(MAPS, PROGRAMS, LINKS)) {
            Files.createDirectories(dir.resolve(kind));
        }
        forEachMap(map -> check(libbpf.bpf_map__pin(map, mapPin(dir, map).toString()),
                "pinning map " + libbpf.bpf_map__name(map)));
        forEachProgram(program -> {
            String programName = libbpf.bpf_program__name(program);
            check(libbpf.bpf_program__pin(program, dir.resolve(PROGRAMS).resolve(programName).toString()),
                    "pinning program " + programName);
        });
        for (BpfLink link : attached) {
            link.pin(dir.resolve(LINKS).resolve(link.programName()));
        }
    }

    /* Opens what an earlier run pinned; the object itself is never loaded. */
    private List<BpfLink> reopen(Path state, String... programNames) {
        forEachMap(map -> {
            int fd = objGet(mapPin(state, map));
            int rc = libbpf.bpf_map__reuse_fd(map, fd);
            nat.libc().close(fd);
            check(rc, "reusing pinned map " + libbpf.bpf_map__name(map));
        });
        programFdsFromPins = true;
        forEachProgram(program -> {
            String programName = libbpf.bpf_program__name(program);
            programFds.put(programName, objGet(state.resolve(PROGRAMS).resolve(programName)));
        });
        List<BpfLink> reopened = new ArrayList<>();
        for (String programName : programNames) {
            Path path = state.resolve(LINKS).resolve(programName);
            Pointer link = libbpf.bpf_link__open(path.toString());
            if (link == null) {
                throw new BpfException("opening pinned link " + path, nat.lastErrno());
            }
            reopened.add(new BpfLink(libbpf, programName, link));
        }
        links.addAll(reopened);
        return reopened;
    }

    /* Internal maps are named like "memfd.bss"; program names are C identifiers already. */
    private Path mapPin(Path state, Pointer map) {
        return state.resolve(MAPS).resolve(libbpf.bpf_map__name(map).replace('.', '_'));
    }

    private int objGet(Path path) {
        int fd = libbpf.bpf_obj_get(path.toString());
        check(fd, "opening pinned " + path);
        return fd;
    }

    private static void check(int rc, String operation) {
        if (rc < 0) {
            throw new BpfException(operation, -rc);
        }
    }

    private void forEachMap(Consumer<Pointer> action) {
        for (Pointer map = libbpf.bpf_object__next_map(object, null); map != null;
                map = libbpf.bpf_object__next_map(object, map)) {
            action.accept(map);
        }
    }

    /* Every program that is (to be) loaded: not those left out with skipPrograms. */
    private void forEachProgram(Consumer<Pointer> action) {
        for (Pointer program = libbpf.bpf_object__next_program(object, null); program != null;
                program = libbpf.bpf_object__next_program(object, program)) {
            if (!skippedPrograms.contains(libbpf.bpf_program__name(program))) {
                action.accept(program);
            }
        }
    }

    /**
     * Creates the maps and verifies and loads the programs.
     *
     * @throws BpfUnavailableException when the kernel refuses
     */
    private void load() {
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
        forEachProgram(program -> programFds.put(libbpf.bpf_program__name(program), libbpf.bpf_program__fd(program)));
    }

    /**
     * Attaches programs as their SEC() names say; they stay attached until
     * {@link #close()}. tracefs is made available while tracepoints are attached.
     *
     * @throws MissingTracepointException when the kernel lacks a tracepoint
     * @throws BpfUnavailableException when tracefs cannot be had
     */
    private List<BpfLink> attachAll(String... programNames) {
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

    /* Only after the load or reopen; the fds are libbpf's or ours, valid until close. */
    private int programFd(String programName) {
        Integer fd = programFds.get(programName);
        if (fd == null) {
            throw new IllegalArgumentException("no loaded BPF program named " + programName);
        }
        return fd;
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
        int fd = programFd(programName);
        return lifetime.use(() -> {
            // struct bpf_test_run_opts, all zero but sz: no context, no data, repeat 0 (as syscall programs require).
            Pointer opts = Memory.allocateDirect(nat.runtime(), TEST_RUN_OPTS_SIZE, true);
            opts.putLong(0, TEST_RUN_OPTS_SIZE);
            int rc = libbpf.bpf_prog_test_run_opts(fd, opts);
            if (rc < 0) {
                throw new BpfException("running BPF program " + programName, -rc);
            }
            return opts.getInt(TEST_RUN_OPTS_RETVAL_OFFSET);
        });
    }

    /* libbpf 1.1 <bpf/bpf.h> struct bpf_test_run_opts: sizeof 80, retval at offset 56 (x86-64, arm64). */
    private static final int TEST_RUN_OPTS_SIZE = 80;
    private static final int TEST_RUN_OPTS_RETVAL_OFFSET = 56;
    /* <linux/bpf.h> struct bpf_prog_info (UAPI, stable): the prefix up to run_cnt, which Linux >= 5.1 fills. */
    private static final int PROG_INFO_SIZE = 208;
    private static final int PROG_INFO_RUN_TIME_NS_OFFSET = 192;
    private static final int PROG_INFO_RUN_CNT_OFFSET = 200;

    /** Cumulative cost of one program, kept by the kernel while BPF stats are enabled. */
    public record ProgramStats(String program, long runCount, long runTimeNanos) {
    }

    /**
     * Run count and run time of programs, from {@code bpf_obj_get_info_by_fd} on
     * the fds resolved at attach: zero unless {@code kernel.bpf_stats_enabled=1}
     * (the kernel then pays ~20 ns per run to measure).
     */
    public List<ProgramStats> programStats(List<String> programNames) {
        List<ProgramStats> stats = new ArrayList<>();
        for (String programName : programNames) {
            int fd = programFd(programName);
            stats.add(lifetime.use(() -> {
                jnr.ffi.Runtime runtime = nat.runtime();
                Pointer info = Memory.allocateDirect(runtime, PROG_INFO_SIZE, true);
                Pointer infoLength = Memory.allocateDirect(runtime, Integer.BYTES, true);
                infoLength.putInt(0, PROG_INFO_SIZE);
                int rc = libbpf.bpf_obj_get_info_by_fd(fd, info, infoLength);
                if (rc < 0) {
                    throw new BpfException("reading the run statistics of BPF program " + programName, -rc);
                }
                Reference.reachabilityFence(infoLength);
                return new ProgramStats(programName, info.getLong(PROG_INFO_RUN_CNT_OFFSET),
                        info.getLong(PROG_INFO_RUN_TIME_NS_OFFSET));
            }));
        }
        return stats;
    }

    /** A loaded map, for reads until this object is closed; its fd belongs to this object. */
    public BpfMap map(String mapName) {
        return lifetime.use(() -> {
            Pointer map = mapPointer(mapName);
            int fd = libbpf.bpf_map__fd(map);
            if (fd < 0) {
                throw new IllegalStateException("map " + mapName + " is not loaded");
            }
            return new BpfMap(nat, lifetime, mapName, fd, libbpf.bpf_map__key_size(map), libbpf.bpf_map__value_size(map),
                    libbpf.bpf_map__max_entries(map));
        });
    }

    private Pointer mapPointer(String mapName) {
        Pointer map = libbpf.bpf_object__find_map_by_name(object, mapName);
        if (map == null) {
            throw new IllegalArgumentException("no BPF map named " + mapName);
        }
        return map;
    }

    /** Waits for the reads in flight, then detaches, closes and frees; reads after it are refused. */
    @Override
    public void close() {
        lifetime.close(() -> {
            for (BpfLink link : links) {
                link.close();
            }
            if (programFdsFromPins) {
                programFds.values().forEach(nat.libc()::close);
            }
            libbpf.bpf_object__close(object);
        });
    }
}
