package io.memfdexporter.probe;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.ObjLongConsumer;

/**
 * The counts of one per-key family at one read, by slot (bpf/memfd.h struct
 * slot_table): slot -> count, and the key of every slot whose count is not 0.
 * A slot's key never changes, so a consumer may remember what it decided for
 * a slot as long as the reads come from the same {@link #source()} (one slot
 * table), and look at each scrape only at the slots it has not seen: this is
 * what keeps a scrape from allocating per key (TopComms).
 *
 * <p>Immutable as far as readers can tell: the counts are this read's own copy,
 * and the keys array is only ever filled in, never changed, for slots beyond
 * those counted here.
 */
public final class SlotCounts<K> {
    private final long[] counts;
    private final AtomicReferenceArray<K> keys;

    /**
     * @param counts by slot, owned by this object from now on
     * @param keys   by slot, at least as long as counts; set for every slot whose count is not 0
     */
    public SlotCounts(long[] counts, AtomicReferenceArray<K> keys) {
        if (keys.length() < counts.length) {
            throw new IllegalArgumentException(counts.length + " counts for " + keys.length() + " keys");
        }
        this.counts = counts;
        this.keys = keys;
    }

    /** Plain counts, a slot per key in the map's order: a fresh {@link #source()} at every call. */
    public static <K> SlotCounts<K> of(Map<K, Long> byKey) {
        long[] counts = new long[byKey.size()];
        AtomicReferenceArray<K> keys = new AtomicReferenceArray<>(byKey.size());
        int slot = 0;
        for (Map.Entry<K, Long> entry : byKey.entrySet()) {
            keys.set(slot, entry.getKey());
            counts[slot++] = entry.getValue();
        }
        return new SlotCounts<>(counts, keys);
    }

    /** The slots read: those taken when the read began. */
    public int slots() {
        return counts.length;
    }

    /** The slot's count, a u64; 0 for a slot whose key was never counted (or lost a race, see struct slot_table). */
    public long count(int slot) {
        return counts[slot];
    }

    /** The slot's key; null only where {@link #count(int)} is 0. */
    public K key(int slot) {
        return keys.get(slot);
    }

    /** What identifies the slot table read: two reads with the same source agree on every slot's key. */
    public Object source() {
        return keys;
    }

    /** Every counted key with its count. */
    public void forEach(ObjLongConsumer<K> consumer) {
        for (int slot = 0; slot < counts.length; slot++) {
            if (counts[slot] != 0) {
                consumer.accept(keys.get(slot), counts[slot]);
            }
        }
    }

    /** The counts by key (a key holds one slot at most). Allocates per key: for tests and tools, not scrapes. */
    public Map<K, Long> toMap() {
        Map<K, Long> byKey = new HashMap<>();
        forEach(byKey::put);
        return byKey;
    }
}
