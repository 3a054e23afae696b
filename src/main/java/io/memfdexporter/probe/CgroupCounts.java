package io.memfdexporter.probe;

import java.util.HashMap;
import java.util.Map;

import io.memfdexporter.bpf.BpfMap;

/**
 * Reads a per-cgroup map of bpf/cgroup.bpf.h (u64 cgroup v2 id → u64 count).
 * An entry whose cgroup is being removed carries CGROUP_RETIRED: its count is
 * in the family's removed total already, so it is left out here.
 */
final class CgroupCounts {
    /* bpf/cgroup.bpf.h CGROUP_RETIRED */
    static final long RETIRED = 1L << 63;

    private CgroupCounts() {
    }

    /** Counts by cgroup id, and the entries the map held (retired ones included: they still take a slot). */
    record Read(Map<Long, Long> counts, int entries) {
    }

    static Read of(BpfMap map) {
        Map<Long, Long> counts = new HashMap<>();
        int entries = map.forEach((key, value) -> {
            long count = value.getLong();
            if ((count & RETIRED) == 0) {
                counts.put(key.getLong(), count);
            }
        });
        return new Read(counts, entries);
    }
}
