package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/**
 * What bpf/sizes.bpf.c's maps held at one read: the histogram of requested
 * sizes, the bytes per comm, the bytes not in any comm's sum (the full map
 * could not hold their comm, or the comm's sum was saturated), and the bytes
 * the histogram's sum could not add (saturated), so that
 * {@code sum(bytesByComm) + unrecordedBytes == sizes.sum() + unsummedBytes}
 * when no call happened during the read and nothing reached 2^64 - 1; the
 * same bytes by cgroup, with {@code cgroupTotals} in the role of unrecordedBytes. All are
 * u64s (see {@link io.memfdexporter.bpf.U64}).
 */
public record SizesCounts(Log2Histogram sizes, SlotCounts<CommKey> bytesByComm, long unrecordedBytes,
                          long unsummedBytes, Map<Long, Long> bytesByCgroup, CgroupBytesTotals cgroupTotals,
                          List<MapFill> fill) implements ProbeCounts {
    public SizesCounts {
        bytesByCgroup = Map.copyOf(bytesByCgroup);
        fill = List.copyOf(fill);
    }
}
