package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct totals}, summed over all CPUs: every call and
 * failure seen, how many of them a full map could not record, and how many
 * the per-cgroup maps counted for cgroups since removed.
 */
public record Totals(long calls, long failures, long unrecordedComm, long unrecordedFlags, long unrecordedFailures,
                     long unrecordedWindows, long unrecordedCgroup, long removedCgroup, long unrecordedFailuresCgroup,
                     long removedFailuresCgroup) {
    public static final int SIZE = 10 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct totals} lookup, each {@code stride} bytes apart. */
    public static Totals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new Totals(sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7], sum[8], sum[9]);
    }
}
