package io.memfdexporter.probe;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;

import io.memfdexporter.bpf.MappedArray;

/**
 * One family of per-comm counts kept in a slot table (bpf/memfd.h
 * {@code struct slot_table}, docs/performance.md), read from the mmapped
 * arrays: a scrape copies the counts of the slots in use, and reads the comm
 * of a slot only once, the first time its count is non-zero. The index
 * (comm -> slot hash map) is never read.
 *
 * <p>Thread-safe, and concurrent reads do not wait for each other: a read that
 * finds the reused buffer taken copies into a fresh one (the exporter's scrapes
 * share one collection anyway, see SharedScrape).
 */
public final class CommSlots {
    private static final int TAKEN_OFFSET = 0;
    private static final int WASTED_OFFSET = 8;

    private final MappedArray table;
    private final MappedArray comms;
    private final MappedArray counts;
    private final int capacity;
    /* The comm of each slot whose count was non-zero at a read: a slot's comm never changes once counted. */
    private final AtomicReferenceArray<CommKey> known;
    /* The counts of the slots in use, reused by the reads that find it free. */
    private final long[] reusedCounts;
    private final ReentrantLock reusedCountsTaken = new ReentrantLock();

    /**
     * @param table  the single struct slot_table
     * @param comms  slot -> struct comm_key
     * @param counts slot -> __u64 count, as many entries as comms
     */
    public CommSlots(MappedArray table, MappedArray comms, MappedArray counts) {
        if (comms.entries() != counts.entries()) {
            throw new IllegalArgumentException(comms.name() + " and " + counts.name() + " differ in size");
        }
        this.table = table;
        this.comms = comms;
        this.counts = counts;
        this.capacity = counts.entries();
        this.known = new AtomicReferenceArray<>(capacity);
        this.reusedCounts = new long[capacity];
    }

    /** The counts of one read, and the slot table's state. */
    public record Read(Map<CommKey, Long> counts, long comms, long wasted) {
    }

    public Read read() {
        if (!reusedCountsTaken.tryLock()) {
            return read(new long[capacity]);
        }
        try {
            return read(reusedCounts);
        } finally {
            reusedCountsTaken.unlock();
        }
    }

    private Read read(long[] slotCounts) {
        long taken = table.getLong(0, TAKEN_OFFSET);
        long wasted = table.getLong(0, WASTED_OFFSET);
        int used = (int) Math.min(taken, capacity);
        counts.copyLongs(0, slotCounts, used);
        // A count is non-zero only once its slot's comm was written (struct slot_table): read comms after counts.
        VarHandle.acquireFence();
        learnComms(slotCounts, used);
        Map<CommKey, Long> byComm = new HashMap<>();
        for (int slot = 0; slot < used; slot++) {
            CommKey comm = known.get(slot);
            if (slotCounts[slot] != 0 && comm != null) {
                byComm.put(comm, slotCounts[slot]);
            }
        }
        return new Read(byComm, used - wasted, wasted);
    }

    /* Reads, in one copy, the comms of the slots counted for the first time (new slots are taken in order). */
    private void learnComms(long[] slotCounts, int used) {
        int first = 0;
        while (first < used && (slotCounts[first] == 0 || known.get(first) != null)) {
            first++;
        }
        if (first == used) {
            return;
        }
        byte[] raw = new byte[(used - first) * comms.valueStride()];
        comms.copyValues(first, raw, used - first);
        ByteBuffer values = ByteBuffer.wrap(raw);
        for (int slot = first; slot < used; slot++) {
            if (slotCounts[slot] != 0 && known.get(slot) == null) {
                known.set(slot, CommKey.read(values.slice((slot - first) * comms.valueStride(), CommKey.SIZE)));
            }
        }
    }
}
