package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct exec_mapping_totals}, summed over all CPUs: every
 * call seen mapping a memfd executable, those the full exec_mappings_by_comm
 * map could not record, and the calls asking for execution whose mappings
 * could not be examined.
 */
public record ExecMappingTotals(long observed, long unrecorded, long unchecked) {
    public static final int SIZE = 3 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct exec_mapping_totals} lookup, each {@code stride} bytes apart. */
    public static ExecMappingTotals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new ExecMappingTotals(sum[0], sum[1], sum[2]);
    }
}
