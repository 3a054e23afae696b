package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import io.memfdexporter.probe.MemfdCounts;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** memfd_create(2) calls, flags and failures, from bpf/memfd.bpf.c's maps. */
public final class MemfdCollector extends ProbeCollector<MemfdCounts> {

    /** @param counts reads the maps; called once per scrape, on a worker thread */
    public MemfdCollector(Supplier<MemfdCounts> counts) {
        super("memfd", counts);
    }

    @Override
    void addCounts(MetricSnapshots.Builder snapshots, MemfdCounts read) {
        snapshots.metricSnapshot(countsByComm(MetricFamily.CALLS, read.callsByComm()).build());

        CounterSnapshot.Builder byFlags = counter(MetricFamily.CALLS_BY_FLAGS);
        Map<String, Long> flags = new HashMap<>();
        read.callsByFlags().forEach((key, count) -> flags.merge(FlagNames.label(key), count, Long::sum));
        flags.forEach((label, count) -> byFlags.dataPoint(point(count, "flags", label)));
        snapshots.metricSnapshot(byFlags.build());

        snapshots.metricSnapshot(failuresByComm(MetricFamily.FAILURES, read.failures()).build());

        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_CALLS).dataPoint(point(read.totals().calls())).build());
        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_FAILURES).dataPoint(point(read.totals().failures())).build());
        snapshots.metricSnapshot(counter(MetricFamily.UNRECORDED)
                .dataPoint(point(read.totals().unrecordedComm(), "map", "calls_by_comm"))
                .dataPoint(point(read.totals().unrecordedFlags(), "map", "calls_by_flags"))
                .dataPoint(point(read.totals().unrecordedFailures(), "map", "failures_by_comm"))
                .build());
    }
}
