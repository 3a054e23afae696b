package io.memfdexporter.bpf;

import java.util.ArrayList;
import java.util.List;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A BPF object file opened from memory, loaded into the kernel, and its
 * attached programs. Closing it detaches every program and closes every fd.
 */
public final class BpfObject implements AutoCloseable {
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

    /** Opens (parses) an ELF image; nothing reaches the kernel before {@link #load()}. */
    public static BpfObject open(Native nat, byte[] elf, String name) {
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

    /** Creates the maps and verifies and loads the programs. */
    public void load() {
        int rc = libbpf.bpf_object__load(object);
        elfImage = null;
        if (rc < 0) {
            throw new BpfException("loading BPF object", -rc);
        }
    }

    /** Attaches a program as its SEC() name says; it stays attached until {@link #close()}. */
    public BpfLink attach(String programName) {
        Pointer program = libbpf.bpf_object__find_program_by_name(object, programName);
        if (program == null) {
            throw new IllegalArgumentException("no BPF program named " + programName);
        }
        Pointer link = libbpf.bpf_program__attach(program);
        if (link == null) {
            throw new BpfException("attaching BPF program " + programName, nat.lastErrno());
        }
        BpfLink attached = new BpfLink(libbpf, programName, link);
        links.add(attached);
        return attached;
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
