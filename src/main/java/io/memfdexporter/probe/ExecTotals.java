package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct exec_totals}, summed over all CPUs: every exec of
 * a memfd seen, how many of them the full execs_by_comm map could not record,
 * and execs_by_cgroup's counts of removed cgroups and what it could not record.
 */
public record ExecTotals(long execs, long unrecorded, long removedCgroup, long unrecordedCgroup) {
    public static final int SIZE = 4 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct exec_totals} lookup, each {@code stride} bytes apart. */
    public static ExecTotals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new ExecTotals(sum[0], sum[1], sum[2], sum[3]);
    }
}
