package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/**
 * Everything the probe's maps held at one read. The hash maps are read one
 * after the other while the kernel keeps counting, so sums across maps agree
 * with {@link #totals()} exactly only when no call happened during the read.
 * {@code wastedSlots}: by per-comm family (calls_by_comm, failures_by_comm),
 * the slots of its slot table lost to races of CPUs first-seeing one key
 * (bpf/memfd.h struct slot_table).
 */
public record MemfdCounts(SlotCounts<CommKey> callsByComm, Map<Integer, Long> callsByFlags,
                          SlotCounts<FailureKey> failures, Map<String, Long> wastedSlots, Map<Long, Long> callsByCgroup,
                          Map<Long, Long> failuresByCgroup, Totals totals,
                          Log2Histogram callsPerProcessSecond, List<MapFill> fill) implements ProbeCounts {
    public MemfdCounts {
        callsByCgroup = Map.copyOf(callsByCgroup);
        failuresByCgroup = Map.copyOf(failuresByCgroup);
        callsByFlags = Map.copyOf(callsByFlags);
        wastedSlots = Map.copyOf(wastedSlots);
        fill = List.copyOf(fill);
    }
}
