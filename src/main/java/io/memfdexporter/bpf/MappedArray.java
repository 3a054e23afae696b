package io.memfdexporter.bpf;

import jnr.ffi.Pointer;

/**
 * An ARRAY map created with {@code BPF_F_MMAPABLE}, mapped read-only and
 * shared: reads see the kernel's values as the programs write them, with no
 * syscall (PLATFORM-NOTES.md, "Zero-syscall reads"). Unmapped when the owning
 * object closes; every read holds a lease on its {@link Lifetime}, so none
 * touches the memory after that (it would crash the JVM).
 *
 * <p>The values are {@code valueStride} bytes apart (the value size rounded up
 * to 8, as the kernel lays them out), in host byte order. Reads are plain
 * loads: a value written by the kernel during a copy is seen old or new, and
 * u64 counters are 8-byte aligned, so each is seen whole.
 */
public final class MappedArray {
    private static final int PROT_READ = 1;
    private static final int MAP_SHARED = 1;
    private static final long MAP_FAILED = -1;

    private final Lifetime lifetime;
    private final String name;
    private final Pointer memory;
    private final int entries;
    private final int valueStride;

    private MappedArray(Lifetime lifetime, String name, Pointer memory, int entries, int valueStride) {
        this.lifetime = lifetime;
        this.name = name;
        this.memory = memory;
        this.entries = entries;
        this.valueStride = valueStride;
    }

    /* Maps the whole array: the kernel allows exactly max_entries values, rounded up to whole pages. */
    static MappedArray map(Native nat, Lifetime lifetime, String name, int fd, int valueSize, int entries) {
        LibC libc = nat.libc();
        int stride = (valueSize + 7) & ~7;
        long page = libc.getpagesize();
        long length = ((long) entries * stride + page - 1) / page * page;
        Pointer memory = lifetime.acquire(() -> {
            Pointer mapped = libc.mmap(null, length, PROT_READ, MAP_SHARED, fd, 0);
            if (mapped == null || mapped.address() == MAP_FAILED) {
                // EINVAL: the map is not BPF_F_MMAPABLE, or its fd was opened with BPF_F_RDONLY.
                throw new BpfException("mapping BPF map " + name + " into memory", nat.lastErrno());
            }
            return mapped;
        }, mapped -> () -> libc.munmap(mapped, length));
        return new MappedArray(lifetime, name, memory, entries, stride);
    }

    public String name() {
        return name;
    }

    /** max_entries of the array. */
    public int entries() {
        return entries;
    }

    /** The {@code __u64} at a byte offset into value {@code index}. */
    public long getLong(int index, int offset) {
        checkRange(index, 1);
        return lifetime.use(() -> memory.getLong((long) index * valueStride + offset));
    }

    /** Copies the {@code __u64} values of {@code count} entries from {@code first} (an array of __u64 only). */
    public void copyLongs(int first, long[] into, int count) {
        if (valueStride != Long.BYTES) {
            throw new IllegalStateException("map " + name + " does not hold __u64 values");
        }
        checkRange(first, count);
        lifetime.use(() -> {
            memory.get((long) first * Long.BYTES, into, 0, count);
            return null;
        });
    }

    /** Copies the values of {@code count} entries from {@code first}, {@code valueStride} bytes each, into {@code into}. */
    public void copyValues(int first, byte[] into, int count) {
        checkRange(first, count);
        lifetime.use(() -> {
            memory.get((long) first * valueStride, into, 0, count * valueStride);
            return null;
        });
    }

    /** Bytes from one value to the next: the value size rounded up to 8. */
    public int valueStride() {
        return valueStride;
    }

    private void checkRange(int first, int count) {
        if (first < 0 || count < 0 || first > entries - count) {
            throw new IndexOutOfBoundsException("entries " + first + ".." + (first + count) + " of map " + name
                    + " with " + entries);
        }
    }
}
