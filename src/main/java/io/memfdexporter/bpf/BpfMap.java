package io.memfdexporter.bpf;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Reads a loaded BPF map. Hash maps are read with {@code bpf_map_lookup_batch}:
 * a few syscalls per scrape instead of two per key. Every read holds a lease on
 * the owning object's {@link Lifetime}, so the fd it uses cannot be closed (and
 * its number reused by another file) while it runs, and is refused after.
 */
public final class BpfMap {
    /* The kernel refuses (ENOSPC) a batch smaller than one hash bucket; 256 avoids retries in practice. */
    private static final int INITIAL_BATCH = 256;

    private final Native nat;
    private final Lifetime lifetime;
    private final String name;
    private final int fd;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;

    BpfMap(Native nat, Lifetime lifetime, String name, int fd, int keySize, int valueSize, int maxEntries) {
        this.nat = nat;
        this.lifetime = lifetime;
        this.name = name;
        this.fd = fd;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
    }

    public String name() {
        return name;
    }

    public int maxEntries() {
        return maxEntries;
    }

    /** Receives one entry; both buffers are little-endian (host order) and valid only during the call. */
    @FunctionalInterface
    public interface EntryConsumer {
        void accept(ByteBuffer key, ByteBuffer value);
    }

    /**
     * Visits every entry of a hash or array map. Entries added or removed during the
     * read may or may not be seen, as with any BPF map iteration.
     *
     * @return the number of entries visited
     * @throws IllegalStateException when the map's object is closed
     */
    public int forEach(EntryConsumer consumer) {
        return lifetime.use(() -> readBatches(consumer));
    }

    private int readBatches(EntryConsumer consumer) {
        jnr.ffi.Runtime runtime = nat.runtime();
        LibBpf libbpf = nat.libbpf();
        // Hash maps use a u32 bucket index as the batch token; key size covers other map types.
        int tokenSize = Math.max(keySize, 8);
        Pointer inBatch = Memory.allocateDirect(runtime, tokenSize, true);
        Pointer outBatch = Memory.allocateDirect(runtime, tokenSize, true);
        int batch = INITIAL_BATCH;
        Pointer keys = Memory.allocateDirect(runtime, (long) batch * keySize);
        Pointer values = Memory.allocateDirect(runtime, (long) batch * valueSize);
        Pointer count = Memory.allocateDirect(runtime, Integer.BYTES, true); // __u32 *count: in and out
        boolean first = true;
        int visited = 0;
        byte[] keyBytes = new byte[batch * keySize];
        byte[] valueBytes = new byte[batch * valueSize];
        while (true) {
            count.putInt(0, batch);
            int rc = libbpf.bpf_map_lookup_batch(fd, first ? null : inBatch, outBatch, keys, values, count, null);
            // The kernel reads and writes these by address: keep them until the call returned (jnr frees
            // direct memory once its Pointer is collected, which may happen right after the last Java use).
            Reference.reachabilityFence(inBatch);
            Reference.reachabilityFence(outBatch);
            Reference.reachabilityFence(keys);
            Reference.reachabilityFence(values);
            Reference.reachabilityFence(count);
            if (rc == -Errnos.ENOSPC && count.getInt(0) == 0) {
                batch *= 2;
                keys = Memory.allocateDirect(runtime, (long) batch * keySize);
                values = Memory.allocateDirect(runtime, (long) batch * valueSize);
                keyBytes = new byte[batch * keySize];
                valueBytes = new byte[batch * valueSize];
                continue;
            }
            if (rc < 0 && rc != -Errnos.ENOENT) {
                throw new BpfException("reading map " + name, -rc);
            }
            // The last call returns ENOENT together with valid entries.
            int n = count.getInt(0);
            // One copy per batch, not two native calls per entry: 12% faster reads (BENCHMARKS.md).
            keys.get(0, keyBytes, 0, n * keySize);
            values.get(0, valueBytes, 0, n * valueSize);
            ByteBuffer allKeys = ByteBuffer.wrap(keyBytes);
            ByteBuffer allValues = ByteBuffer.wrap(valueBytes);
            for (int i = 0; i < n; i++) {
                consumer.accept(allKeys.slice(i * keySize, keySize).order(ByteOrder.nativeOrder()),
                        allValues.slice(i * valueSize, valueSize).order(ByteOrder.nativeOrder()));
            }
            visited += n;
            if (rc == -Errnos.ENOENT) {
                return visited;
            }
            byte[] token = new byte[tokenSize];
            outBatch.get(0, token, 0, tokenSize);
            inBatch.put(0, token, 0, tokenSize);
            first = false;
        }
    }

    /**
     * Maps this array (created with {@code BPF_F_MMAPABLE}) read-only into memory until the object closes.
     *
     * @throws BpfException when the kernel refuses (not mmapable, or a read-only fd)
     * @throws IllegalStateException when the map's object is closed
     */
    public MappedArray mmap() {
        return MappedArray.map(nat, lifetime, name, fd, valueSize, maxEntries);
    }

    /** Looks up one key of a map that is not per-CPU; the value in host byte order. */
    public ByteBuffer lookup(ByteBuffer keyBytes) {
        return lookupValue(keyBytes, valueSize);
    }

    /** {@link #lookup(ByteBuffer)} of an array's index. */
    public ByteBuffer lookup(int index) {
        return lookup(indexKey(index));
    }

    private static ByteBuffer indexKey(int index) {
        return ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.nativeOrder()).putInt(0, index);
    }

    /** {@link #lookupPerCpu(ByteBuffer)} of a per-CPU array's index. */
    public ByteBuffer lookupPerCpu(int index) {
        return lookupPerCpu(indexKey(index));
    }

    /** The sum over all CPUs of a per-CPU array's {@code __u64} value at an index, as a u64 saturating at 2^64 - 1. */
    public long sumPerCpu(int index) {
        ByteBuffer perCpu = lookupPerCpu(index);
        long sum = 0;
        for (int offset = 0; offset < perCpu.limit(); offset += paddedValueSize()) {
            sum = U64.add(sum, perCpu.getLong(offset));
        }
        return sum;
    }

    /**
     * Looks up one key of a per-CPU map and returns each CPU's value (each
     * padded to 8 bytes, as the kernel copies them), in host byte order.
     */
    public ByteBuffer lookupPerCpu(ByteBuffer keyBytes) {
        int cpus = nat.libbpf().libbpf_num_possible_cpus();
        if (cpus <= 0) {
            throw new BpfException("counting possible CPUs", -cpus);
        }
        return lookupValue(keyBytes, cpus * paddedValueSize());
    }

    private ByteBuffer lookupValue(ByteBuffer keyBytes, int resultSize) {
        jnr.ffi.Runtime runtime = nat.runtime();
        Pointer key = Memory.allocateDirect(runtime, keySize, true);
        byte[] keyArray = new byte[keySize];
        keyBytes.duplicate().get(keyArray);
        key.put(0, keyArray, 0, keySize);
        Pointer values = Memory.allocateDirect(runtime, resultSize, true);
        int rc = lifetime.use(() -> nat.libbpf().bpf_map_lookup_elem(fd, key, values));
        // No Java use of key follows: without the fence it could be freed during the call.
        Reference.reachabilityFence(key);
        if (rc < 0) {
            throw new BpfException("looking up map " + name, -rc);
        }
        byte[] out = new byte[resultSize];
        values.get(0, out, 0, out.length);
        return ByteBuffer.wrap(out).order(ByteOrder.nativeOrder());
    }

    /** Size of one CPU's value in a per-CPU lookup result. */
    public int paddedValueSize() {
        return (valueSize + 7) & ~7;
    }
}
