package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/**
 * Everything exec_mappings.bpf.c's maps held at one read; {@code mappings}
 * agrees with {@link #totals()} exactly only when no memfd was mapped
 * executable during the read.
 */
public record ExecMappingCounts(SlotCounts<ExecMappingKey> mappings, Map<Long, Long> mappingsByCgroup, ExecMappingTotals totals,
                                List<MapFill> fill) implements ProbeCounts {
    public ExecMappingCounts {
        mappingsByCgroup = Map.copyOf(mappingsByCgroup);
        fill = List.copyOf(fill);
    }
}
