package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct cgroup_bytes_totals}, summed over all CPUs (u64s
 * that saturate, see {@link io.memfdexporter.bpf.U64}): requested bytes of
 * cgroups since removed, and bytes requested_bytes_by_cgroup could not record.
 */
public record CgroupBytesTotals(long removed, long unrecorded) {
    public static final int SIZE = 2 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct cgroup_bytes_totals} lookup, each {@code stride} bytes apart. */
    public static CgroupBytesTotals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new CgroupBytesTotals(sum[0], sum[1]);
    }
}
