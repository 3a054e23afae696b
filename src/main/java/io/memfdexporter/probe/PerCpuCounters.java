package io.memfdexporter.probe;

import java.nio.ByteBuffer;

import io.memfdexporter.bpf.U64;

/** Per-CPU copies of a struct of u64 counters (bpf/memfd.h's totals, histograms), summed as u64s, saturating. */
final class PerCpuCounters {
    private PerCpuCounters() {
    }

    /** Sums each of the {@code fields} counters over the per-CPU copies, each {@code stride} bytes apart. */
    static long[] sum(ByteBuffer perCpu, int stride, int fields) {
        long[] sums = new long[fields];
        for (int offset = 0; offset + fields * Long.BYTES <= perCpu.limit(); offset += stride) {
            for (int field = 0; field < fields; field++) {
                sums[field] = U64.add(sums[field], perCpu.getLong(offset + field * Long.BYTES));
            }
        }
        return sums;
    }
}
