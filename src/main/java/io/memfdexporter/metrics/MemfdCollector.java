package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.MemfdCounts;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** memfd_create(2) calls, flags, failures, cgroups and bursts, from bpf/memfd.bpf.c's maps. */
public final class MemfdCollector extends ProbeCollector<MemfdCounts> {
    /* Classic buckets up to 2^20 calls per second: far beyond what one process can make on today's hardware. */
    private static final int MAX_CALLS_EXPONENT = 20;

    private final CgroupPaths cgroups;

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; the rest are summed as {@value TopComms#OTHER}
     */
    public MemfdCollector(Supplier<MemfdCounts> counts, CgroupPaths cgroups, int maxCommSeries) {
        super(counts, maxCommSeries);
        this.cgroups = cgroups;
    }

    @Override
    void addCounts(MetricSnapshots.Builder snapshots, MemfdCounts read) {
        snapshots.metricSnapshot(countsByComm(MetricFamily.CALLS, read.callsByComm()).build());

        Map<String, Long> flags = new HashMap<>();
        read.callsByFlags().forEach((key, count) -> flags.merge(FlagNames.label(key), count, U64::add));
        CounterSnapshot.Builder byFlags = MetricFamily.CALLS_BY_FLAGS.counter();
        flags.forEach((label, count) -> byFlags.dataPoint(point(count, "flags", label)));
        snapshots.metricSnapshot(byFlags.build());

        snapshots.metricSnapshot(failuresByComm(MetricFamily.FAILURES, read.failures()).build());

        snapshots.metricSnapshot(countsByCgroup(MetricFamily.CALLS_BY_CGROUP, read.callsByCgroup(), cgroups).build());
        snapshots.metricSnapshot(countsByCgroup(MetricFamily.FAILURES_BY_CGROUP, read.failuresByCgroup(), cgroups).build());
        addCgroupLosses(snapshots,
                new CgroupLosses(MetricFamily.CALLS_BY_CGROUP, read.totals().removedCgroup(), read.totals().unrecordedCgroup()),
                new CgroupLosses(MetricFamily.FAILURES_BY_CGROUP, read.totals().removedFailuresCgroup(),
                        read.totals().unrecordedFailuresCgroup()));

        snapshots.metricSnapshot(MetricFamily.OBSERVED_CALLS.counter().dataPoint(point(read.totals().calls())).build());
        snapshots.metricSnapshot(MetricFamily.OBSERVED_FAILURES.counter().dataPoint(point(read.totals().failures())).build());
        snapshots.metricSnapshot(MetricFamily.UNRECORDED.counter()
                .dataPoint(point(read.totals().unrecordedComm(), "map", "calls_by_comm"))
                .dataPoint(point(read.totals().unrecordedFlags(), "map", "calls_by_flags"))
                .dataPoint(point(read.totals().unrecordedFailures(), "map", "failures_by_comm"))
                .dataPoint(point(read.totals().unrecordedWindows(), "map", "rate_windows"))
                .dataPoint(point(read.totals().unrecordedCgroup(), "map", "calls_by_cgroup"))
                .build());
        snapshots.metricSnapshot(MetricFamily.CALLS_PER_PROCESS_SECOND.histogram()
                .dataPoint(Log2HistogramPoints.of(read.callsPerProcessSecond(), MAX_CALLS_EXPONENT, Labels.EMPTY))
                .build());
    }
}
