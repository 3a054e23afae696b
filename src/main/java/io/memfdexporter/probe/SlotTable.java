package io.memfdexporter.probe;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.MappedArray;

/**
 * One family of per-key counts (keys: comms, or comm and errno) kept in a
 * slot table (bpf/memfd.h {@code struct slot_table}, docs/performance.md),
 * read from the mmapped arrays: a read copies the counts of the slots in use,
 * and decodes the key of a slot only once, the first time its count is
 * non-zero. The index (key -> slot hash map) is never read.
 *
 * <p>Thread-safe: concurrent reads do not wait for each other (the exporter's
 * scrapes share one collection anyway, see SharedScrape).
 *
 * @param <K> the Java mirror of the key struct
 */
public final class SlotTable<K> {
    private static final int TAKEN_OFFSET = 0;
    private static final int WASTED_OFFSET = 8;

    private final String family;
    private final MappedArray table;
    private final MappedArray keys;
    private final MappedArray counts;
    private final Function<ByteBuffer, K> decoder;
    private final int capacity;
    /* The key of each slot whose count was non-zero at a read: a slot's key never changes once counted. */
    private final AtomicReferenceArray<K> known;

    /**
     * @param family  the name the family had as a hash map (calls_by_comm...): still the label of its fill and
     *                unrecorded series
     * @param table   the single struct slot_table
     * @param keys    slot -> key struct
     * @param counts  slot -> __u64 count, as many entries as keys
     * @param decoder reads one key struct (host byte order)
     */
    public SlotTable(String family, MappedArray table, MappedArray keys, MappedArray counts,
                     Function<ByteBuffer, K> decoder) {
        if (keys.entries() != counts.entries()) {
            throw new IllegalArgumentException(keys.name() + " and " + counts.name() + " differ in size");
        }
        this.family = family;
        this.table = table;
        this.keys = keys;
        this.counts = counts;
        this.decoder = decoder;
        this.capacity = counts.entries();
        this.known = new AtomicReferenceArray<>(capacity);
    }

    /**
     * Opens the slot table bpf/slots.bpf.h declares as {@code SLOT_TABLE(table, ...)} with one of its count arrays,
     * as the family named {@code family} (see the constructor). The object must be loaded.
     */
    static <K> SlotTable<K> open(BpfObject object, String table, String counts, String family,
                                 Function<ByteBuffer, K> decoder) {
        return new SlotTable<>(family, object.map(table + "_slot_table").mmap(), object.map(table + "_slot_keys").mmap(),
                object.map(counts).mmap(), decoder);
    }

    /** Sets the capacity of the slot table {@code table} and its count arrays, before the object is loaded. */
    static void setCapacity(BpfObject object, String table, int capacity, String... counts) {
        object.setMaxEntries(table + "_slots", capacity);
        object.setMaxEntries(table + "_slot_keys", capacity);
        for (String array : counts) {
            object.setMaxEntries(array, capacity);
        }
    }

    /** The counts of one read, the keys holding a slot, and the slots lost to races (struct slot_table). */
    public record Read<K>(SlotCounts<K> counts, long keys, long wasted) {
    }

    /** The slots the table holds (--bpf.max-comms). */
    public int capacity() {
        return capacity;
    }

    /** The name the family had as a hash map, the label of its fill and unrecorded series. */
    String family() {
        return family;
    }

    /**
     * The fill of this family under its {@link #family()} label: the slots taken (keys holding one, and those lost to
     * races), so that entries == capacity exactly when new keys go unrecorded, as for a full hash map.
     */
    MapFill fill(Read<K> read) {
        return new MapFill(family, read.keys() + read.wasted(), capacity);
    }

    /** Copies the counts of the slots taken (the only allocation of a read, once every counted key is known). */
    public Read<K> read() {
        long taken = table.getLong(0, TAKEN_OFFSET);
        long wasted = table.getLong(0, WASTED_OFFSET);
        int used = (int) Math.min(taken, capacity);
        long[] slotCounts = new long[used];
        counts.copyLongs(0, slotCounts, used);
        // A count is non-zero only once its slot's key was written (struct slot_table): read keys after counts.
        VarHandle.acquireFence();
        learnKeys(slotCounts, used);
        return new Read<>(new SlotCounts<>(slotCounts, known), used - wasted, wasted);
    }

    /* Reads, in one copy, the keys of the slots counted for the first time (new slots are taken in order). */
    private void learnKeys(long[] slotCounts, int used) {
        int first = 0;
        while (first < used && (slotCounts[first] == 0 || known.get(first) != null)) {
            first++;
        }
        if (first == used) {
            return;
        }
        int stride = keys.valueStride();
        byte[] raw = new byte[(used - first) * stride];
        keys.copyValues(first, raw, used - first);
        ByteBuffer values = ByteBuffer.wrap(raw);
        for (int slot = first; slot < used; slot++) {
            if (slotCounts[slot] != 0 && known.get(slot) == null) {
                known.set(slot, decoder.apply(values.slice((slot - first) * stride, stride).order(ByteOrder.nativeOrder())));
            }
        }
    }
}
