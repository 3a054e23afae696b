package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct exec_mapping_totals}, summed over all CPUs: every
 * call seen mapping a memfd executable, those the full exec_mappings_by_comm
 * map could not record, and the calls asking for execution whose mappings
 * could not be examined; and exec_mappings_by_cgroup's counts of removed
 * cgroups and what it could not record.
 */
public record ExecMappingTotals(long observed, long unrecorded, long unchecked, long removedCgroup, long unrecordedCgroup) {
    public static final int SIZE = 5 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct exec_mapping_totals} lookup, each {@code stride} bytes apart. */
    public static ExecMappingTotals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new ExecMappingTotals(sum[0], sum[1], sum[2], sum[3], sum[4]);
    }
}
