package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct exec_totals}, summed over all CPUs: every exec of
 * a memfd seen, and how many of them the full execs_by_comm map could not record.
 */
public record ExecTotals(long execs, long unrecorded) {
    public static final int SIZE = 2 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct exec_totals} lookup, each {@code stride} bytes apart. */
    public static ExecTotals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new ExecTotals(sum[0], sum[1]);
    }
}
