package io.memfdexporter.bpf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import io.memfdexporter.Exporter;
import io.memfdexporter.metrics.MemfdCollector;
import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.SlotCounts;
import io.memfdexporter.probe.SlotTable;
import io.memfdexporter.probe.Log2Histogram;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.MemfdCounts;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.probe.Totals;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * What a scrape costs as the per-comm map grows: a real kernel BPF hash map
 * shaped like memfd.bpf.c's calls_by_comm (16-byte comm key, u64 count,
 * preallocated, the exporter's default capacity or {@code keys} if larger,
 * as --bpf.max-comms would be), filled with {@code keys} distinct comms, read either in
 * batches ({@link BpfMap#forEach}, what the exporter does) or key by key
 * ({@code bpf_map_get_next_key} + {@code bpf_map_lookup_elem}, two syscalls
 * per key), or from the slot table that replaces it (bpf/memfd.h struct
 * slot_table: BPF_F_MMAPABLE arrays slot -> comm and slot -> count, mmapped
 * and read by {@link SlotTable}, what the exporter does now; {@code slots}).
 * {@link #read} measures the map read alone; {@link #scrape} adds
 * what the exporter does with it on every scrape: MemfdCollector's snapshot
 * (comm labels, top-N comms) and the Prometheus text exposition.
 * Needs CAP_BPF; run by scripts/bench.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ScrapeBenchmark {
    /** The libbpf calls only this benchmark needs: a standalone map and per-key iteration. */
    public interface MapLib {
        int BPF_MAP_TYPE_HASH = 1;
        int BPF_MAP_TYPE_ARRAY = 2;
        int BPF_NOEXIST = 1;
        int BPF_F_MMAPABLE = 1 << 10;
        /* struct bpf_map_create_opts (libbpf 1.x): sz, then map_flags at offset 28; 48 bytes. */
        int CREATE_OPTS_SIZE = 48;
        int CREATE_OPTS_MAP_FLAGS = 28;

        int bpf_map_create(int mapType, String name, int keySize, int valueSize, int maxEntries, Pointer opts);

        int bpf_map_update_elem(int fd, Pointer key, Pointer value, long flags);

        int bpf_map_get_next_key(int fd, Pointer key, Pointer nextKey);

        int bpf_map_lookup_elem(int fd, Pointer key, Pointer value);
    }

    /** close(2). */
    public interface Close {
        int close(int fd);
    }

    @Param({"100", "1000", "10000", "100000"})
    public int keys;

    /** batch: BpfMap.forEach; perKey: get_next_key + lookup_elem per key; slots: SlotTable over mmapped arrays. */
    @Param({"batch", "perKey", "slots"})
    public String method;

    private MapLib lib;
    private Close libc;
    private jnr.ffi.Runtime runtime;
    private int fd = -1;
    private BpfMap map;
    private Lifetime lifetime;
    private final List<Integer> slotFds = new ArrayList<>();
    private SlotTable<CommKey> slots;
    private MemfdCollector collector;
    private ExpositionFormatWriter writer;

    @Setup(Level.Trial)
    public void fill() {
        Native nat = Native.get();
        runtime = nat.runtime();
        lib = LibraryLoader.create(MapLib.class).failImmediately().load("bpf");
        libc = LibraryLoader.create(Close.class).failImmediately().load("c");
        int capacity = Math.max(MemfdProbe.DEFAULT_MAX_COMMS, keys);
        fd = lib.bpf_map_create(MapLib.BPF_MAP_TYPE_HASH, "calls_by_comm", CommKey.SIZE, Long.BYTES, capacity, null);
        if (fd < 0) {
            throw new BpfException("creating a hash map of " + capacity + " entries", -fd);
        }
        lifetime = new Lifetime("calls_by_comm");
        map = new BpfMap(nat, lifetime, "calls_by_comm", fd, CommKey.SIZE, Long.BYTES, capacity);
        Pointer key = Memory.allocateDirect(runtime, CommKey.SIZE, true);
        Pointer value = Memory.allocateDirect(runtime, Long.BYTES, true);
        for (int i = 0; i < keys; i++) {
            // The names loadgen's "comms" mode gives threads, counts that differ so top-N has work to do.
            byte[] comm = String.format("bc%07d", i).getBytes(StandardCharsets.US_ASCII);
            key.put(0, comm, 0, comm.length);
            value.putLong(0, 1 + (i * 7919L) % 100_003);
            int rc = lib.bpf_map_update_elem(fd, key, value, MapLib.BPF_NOEXIST);
            if (rc < 0) {
                throw new BpfException("filling the map", -rc);
            }
        }
        if (method.equals("slots")) {
            fillSlots(nat, capacity);
        }
        collector = new MemfdCollector(this::counts, CgroupPaths.ofThisHost(), Exporter.Config.DEFAULT_MAX_COMM_SERIES);
        writer = ExpositionFormats.init().getPrometheusTextFormatWriter();
        int read = counts().callsByComm().toMap().size();
        if (read != keys) {
            throw new IllegalStateException("read " + read + " keys, filled " + keys);
        }
    }

    /* The same comms and counts in a slot table, slot i holding comm i; the index map is not needed to read it. */
    private void fillSlots(Native nat, int capacity) {
        int table = mmapableArray(16, 1);
        int comms = mmapableArray(CommKey.SIZE, capacity);
        int counts = mmapableArray(Long.BYTES, capacity);
        Pointer index = Memory.allocateDirect(runtime, Integer.BYTES, true);
        Pointer comm = Memory.allocateDirect(runtime, CommKey.SIZE, true);
        Pointer value = Memory.allocateDirect(runtime, 16, true);
        for (int i = 0; i < keys; i++) {
            index.putInt(0, i);
            byte[] name = String.format("bc%07d", i).getBytes(StandardCharsets.US_ASCII);
            comm.put(0, name, 0, name.length);
            value.putLong(0, 1 + (i * 7919L) % 100_003);
            check(lib.bpf_map_update_elem(comms, index, comm, 0), "filling slot_keys");
            check(lib.bpf_map_update_elem(counts, index, value, 0), "filling calls_by_slot");
        }
        index.putInt(0, 0);
        value.putLong(0, keys); // taken
        value.putLong(8, 0); // wasted
        check(lib.bpf_map_update_elem(table, index, value, 0), "filling slot_table");
        slots = new SlotTable<>("calls_by_comm", MappedArray.map(nat, lifetime, "slot_table", table, 16, 1),
                MappedArray.map(nat, lifetime, "slot_keys", comms, CommKey.SIZE, capacity),
                MappedArray.map(nat, lifetime, "calls_by_slot", counts, Long.BYTES, capacity), CommKey::read);
    }

    private int mmapableArray(int valueSize, int entries) {
        Pointer opts = Memory.allocateDirect(runtime, MapLib.CREATE_OPTS_SIZE, true);
        opts.putLong(0, MapLib.CREATE_OPTS_SIZE);
        opts.putInt(MapLib.CREATE_OPTS_MAP_FLAGS, MapLib.BPF_F_MMAPABLE);
        int created = lib.bpf_map_create(MapLib.BPF_MAP_TYPE_ARRAY, "slots", Integer.BYTES, valueSize, entries, opts);
        check(created, "creating an mmapable array of " + entries + " entries");
        slotFds.add(created);
        return created;
    }

    private static void check(int rc, String what) {
        if (rc < 0) {
            throw new BpfException(what, -rc);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        if (fd >= 0) {
            lifetime.close(() -> {
                libc.close(fd);
                slotFds.forEach(libc::close);
            });
        }
    }

    /** Reads calls per comm as MemfdProbe.read() does (slots), or did (batch and perKey: into a map). */
    @Benchmark
    public Object read() {
        if (method.equals("slots")) {
            return slots.read().counts();
        }
        Map<CommKey, Long> calls = new HashMap<>();
        BpfMap.EntryConsumer put = (key, value) -> calls.put(CommKey.read(key), value.getLong());
        if (method.equals("batch")) {
            map.forEach(put);
        } else {
            forEachPerKey(put);
        }
        return calls;
    }

    @Benchmark
    public int scrape() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
        writer.write(body, collector.collect());
        return body.size();
    }

    /*
     * The collector's input. A map read becomes a fresh slot table at every scrape (SlotCounts.of), so TopComms
     * labels and decides every comm again, as it did per scrape when the exporter read hash maps.
     */
    @SuppressWarnings("unchecked")
    private MemfdCounts counts() {
        Object calls = read();
        SlotCounts<CommKey> bySlot = calls instanceof SlotCounts ? (SlotCounts<CommKey>) calls
                : SlotCounts.of((Map<CommKey, Long>) calls);
        long[] noSlots = new long[Log2Histogram.SLOTS];
        return new MemfdCounts(bySlot, Map.of(), SlotCounts.of(Map.of()), Map.of(), Map.of(), Map.of(),
                new Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), new Log2Histogram(noSlots, 0),
                List.of(new MapFill(map.name(), keys, map.maxEntries())));
    }

    /** The classic iteration: two syscalls per key. */
    private void forEachPerKey(BpfMap.EntryConsumer consumer) {
        Pointer key = Memory.allocateDirect(runtime, CommKey.SIZE, true);
        Pointer next = Memory.allocateDirect(runtime, CommKey.SIZE, true);
        Pointer value = Memory.allocateDirect(runtime, Long.BYTES, true);
        byte[] keyBytes = new byte[CommKey.SIZE];
        byte[] valueBytes = new byte[Long.BYTES];
        ByteBuffer keyBuffer = ByteBuffer.wrap(keyBytes).order(ByteOrder.nativeOrder());
        ByteBuffer valueBuffer = ByteBuffer.wrap(valueBytes).order(ByteOrder.nativeOrder());
        int rc = lib.bpf_map_get_next_key(fd, null, next);
        while (rc == 0) {
            if (lib.bpf_map_lookup_elem(fd, next, value) == 0) { // a key deleted meanwhile is skipped
                next.get(0, keyBytes, 0, CommKey.SIZE);
                value.get(0, valueBytes, 0, Long.BYTES);
                keyBuffer.clear();
                valueBuffer.clear();
                consumer.accept(keyBuffer, valueBuffer);
            }
            Pointer swap = key;
            key = next;
            next = swap;
            rc = lib.bpf_map_get_next_key(fd, key, next);
        }
        if (rc != -Errnos.ENOENT) {
            throw new BpfException("iterating the map", -rc);
        }
    }
}
