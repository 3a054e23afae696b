package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/**
 * Everything exec.bpf.c's maps held at one read; {@code execs} agrees with
 * {@link #totals()} exactly only when no memfd was executed during the read.
 */
public record ExecCounts(SlotCounts<ExecKey> execs, Map<Long, Long> execsByCgroup, ExecTotals totals, List<MapFill> fill)
        implements ProbeCounts {
    public ExecCounts {
        execsByCgroup = Map.copyOf(execsByCgroup);
        fill = List.copyOf(fill);
    }
}
