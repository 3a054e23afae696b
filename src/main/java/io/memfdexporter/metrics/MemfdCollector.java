package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import io.memfdexporter.bpf.Errnos;
import io.memfdexporter.probe.CgroupPaths;
import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.MemfdCounts;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** Reads memfd.bpf.c's maps on every scrape and builds fresh snapshots from them. */
public final class MemfdCollector implements MultiCollector {
    /* Classic buckets up to 2^20 calls per second: far beyond what one process can make on today's hardware. */
    private static final int MAX_CALLS_EXPONENT = 20;

    private final Supplier<MemfdCounts> counts;
    private final CgroupPaths cgroups;
    private final int maxCommSeries;

    /**
     * @param counts reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comms exported per family; the rest are summed as {@value TopComms#OTHER}
     */
    public MemfdCollector(Supplier<MemfdCounts> counts, CgroupPaths cgroups, int maxCommSeries) {
        this.counts = counts;
        this.cgroups = cgroups;
        this.maxCommSeries = maxCommSeries;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        addCounts(snapshots, counts.get());
        return snapshots.build();
    }

    private void addCounts(MetricSnapshots.Builder snapshots, MemfdCounts read) {
        Map<String, Long> byComm = new HashMap<>();
        read.callsByComm().forEach((comm, count) -> byComm.merge(CommLabel.of(comm), count, Long::sum));
        Set<String> shownComms = TopComms.top(byComm, maxCommSeries);
        Map<String, Long> shownCalls = new HashMap<>();
        byComm.forEach((comm, count) -> shownCalls.merge(shownComms.contains(comm) ? comm : TopComms.OTHER, count, Long::sum));
        CounterSnapshot.Builder calls = MetricFamily.CALLS.counter();
        shownCalls.forEach((comm, count) -> calls.dataPoint(point(count, "comm", comm)));
        snapshots.metricSnapshot(calls.build());

        CounterSnapshot.Builder byFlags = MetricFamily.CALLS_BY_FLAGS.counter();
        Map<String, Long> flags = new HashMap<>();
        read.callsByFlags().forEach((key, count) -> flags.merge(FlagNames.label(key), count, Long::sum));
        flags.forEach((label, count) -> byFlags.dataPoint(point(count, "flags", label)));
        snapshots.metricSnapshot(byFlags.build());

        Map<String, Long> failuresByComm = new HashMap<>();
        read.failures().forEach((key, count) -> failuresByComm.merge(CommLabel.of(key.comm()), count, Long::sum));
        Set<String> shownFailingComms = TopComms.top(failuresByComm, maxCommSeries);
        Map<Labels, Long> failureCounts = new HashMap<>();
        read.failures().forEach((FailureKey key, Long count) -> {
            String comm = CommLabel.of(key.comm());
            failureCounts.merge(Labels.of("comm", shownFailingComms.contains(comm) ? comm : TopComms.OTHER,
                    "errno", Errnos.name(key.errno())), count, Long::sum);
        });
        CounterSnapshot.Builder failures = MetricFamily.FAILURES.counter();
        failureCounts.forEach((labels, count) -> failures.dataPoint(
                CounterDataPointSnapshot.builder().labels(labels).value(count).build()));
        snapshots.metricSnapshot(failures.build());

        Map<Long, String> cgroupPaths = cgroups.pathsOf(read.callsByCgroup().keySet());
        Map<String, Long> byCgroup = new HashMap<>();
        read.callsByCgroup().forEach((id, count) -> byCgroup.merge(cgroupPaths.get(id), count, Long::sum));
        CounterSnapshot.Builder cgroupCalls = MetricFamily.CALLS_BY_CGROUP.counter();
        byCgroup.forEach((path, count) -> cgroupCalls.dataPoint(point(count, "cgroup", path)));
        snapshots.metricSnapshot(cgroupCalls.build());

        snapshots.metricSnapshot(MetricFamily.OBSERVED_CALLS.counter()
                .dataPoint(CounterDataPointSnapshot.builder().value(read.totals().calls()).build()).build());
        snapshots.metricSnapshot(MetricFamily.OBSERVED_FAILURES.counter()
                .dataPoint(CounterDataPointSnapshot.builder().value(read.totals().failures()).build()).build());
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

        GaugeSnapshot.Builder entries = MetricFamily.MAP_ENTRIES.gauge();
        GaugeSnapshot.Builder capacity = MetricFamily.MAP_CAPACITY.gauge();
        for (MapFill fill : read.fill()) {
            entries.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.entries()).build());
            capacity.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.capacity()).build());
        }
        snapshots.metricSnapshot(entries.build());
        snapshots.metricSnapshot(capacity.build());
    }


    private static CounterDataPointSnapshot point(long value, String labelName, String labelValue) {
        return CounterDataPointSnapshot.builder().labels(Labels.of(labelName, labelValue)).value(value).build();
    }
}
