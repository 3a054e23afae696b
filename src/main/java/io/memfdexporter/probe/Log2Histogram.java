package io.memfdexporter.probe;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * bpf/memfd.h {@code struct log2_histogram}: {@code slots[0]} counts zeros,
 * {@code slots[i]} values in (2^(i-2), 2^(i-1)]; {@code sum} of all values, a
 * u64 (see {@link io.memfdexporter.bpf.U64}) that saturates at 2^64 - 1.
 */
public record Log2Histogram(long[] slots, long sum) {
    public static final int SLOTS = 66;
    public static final int SIZE = (SLOTS + 1) * Long.BYTES;

    public Log2Histogram {
        if (slots.length != SLOTS) {
            throw new IllegalArgumentException("a log2 histogram has " + SLOTS + " slots, got " + slots.length);
        }
        slots = slots.clone();
    }

    public static Log2Histogram read(ByteBuffer buffer) {
        long[] slots = new long[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = buffer.getLong();
        }
        return new Log2Histogram(slots, buffer.getLong());
    }

    /** Sums the per-CPU copies of a {@code struct log2_histogram} lookup, each {@code stride} bytes apart. */
    public static Log2Histogram sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SLOTS + 1);
        return new Log2Histogram(java.util.Arrays.copyOf(sum, SLOTS), sum[SLOTS]);
    }

    /** The slot a value falls in, as bpf/maps.bpf.h's log2_slot() computes it. */
    public static int slotOf(long value) {
        if (value == 0) {
            return 0;
        }
        return 1 + (64 - Long.numberOfLeadingZeros(value - 1));
    }

    @Override
    public long[] slots() {
        return slots.clone();
    }

    public long slot(int index) {
        return slots[index];
    }

    public long count() {
        return Arrays.stream(slots).sum();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Log2Histogram that && sum == that.sum && Arrays.equals(slots, that.slots);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(slots) + Long.hashCode(sum);
    }

    @Override
    public String toString() {
        return "Log2Histogram[slots=" + Arrays.toString(slots) + ", sum=" + sum + "]";
    }
}
