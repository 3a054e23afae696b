package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct totals}, summed over all CPUs: every call and
 * failure seen, and how many of them a full map could not record.
 */
public record Totals(long calls, long failures, long unrecordedComm, long unrecordedFlags, long unrecordedFailures,
                     long unrecordedWindows, long unrecordedCgroup) {
    public static final int SIZE = 7 * Long.BYTES;
    public static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, 0);

    /** Sums the per-CPU copies of a {@code struct totals} lookup, each {@code stride} bytes apart. */
    public static Totals sumPerCpu(ByteBuffer perCpu, int stride) {
        Totals sum = ZERO;
        for (int offset = 0; offset + SIZE <= perCpu.limit(); offset += stride) {
            sum = sum.plus(new Totals(perCpu.getLong(offset), perCpu.getLong(offset + 8), perCpu.getLong(offset + 16),
                    perCpu.getLong(offset + 24), perCpu.getLong(offset + 32), perCpu.getLong(offset + 40),
                    perCpu.getLong(offset + 48)));
        }
        return sum;
    }

    Totals plus(Totals other) {
        return new Totals(calls + other.calls, failures + other.failures, unrecordedComm + other.unrecordedComm,
                unrecordedFlags + other.unrecordedFlags, unrecordedFailures + other.unrecordedFailures,
                unrecordedWindows + other.unrecordedWindows, unrecordedCgroup + other.unrecordedCgroup);
    }
}
