package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/** bpf/memfd.h {@code struct secret_totals}, summed over all CPUs: what the full per-comm maps could not record. */
public record SecretTotals(long unrecordedCalls, long unrecordedFailures) {
    public static final int SIZE = 2 * Long.BYTES;

    /** Sums the per-CPU copies of a {@code struct secret_totals} lookup, each {@code stride} bytes apart. */
    public static SecretTotals sumPerCpu(ByteBuffer perCpu, int stride) {
        long[] sum = PerCpuCounters.sum(perCpu, stride, SIZE / Long.BYTES);
        return new SecretTotals(sum[0], sum[1]);
    }
}
