package io.memfdexporter.metrics;

import static io.memfdexporter.metrics.Snapshots.counter;
import static io.memfdexporter.metrics.Snapshots.point;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import io.memfdexporter.bpf.Errnos;
import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.MemfdCounts;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * Reads the memfd_create probe's maps on every scrape and builds fresh
 * snapshots from them, with the build info: no metric state lives between
 * scrapes except the read-error count.
 */
public final class MemfdCollector implements MultiCollector {
    private final ProbeRead<MemfdCounts> read;
    private final BuildInfo buildInfo;

    /** @param counts reads the maps; called once per scrape, on a worker thread */
    public MemfdCollector(Supplier<MemfdCounts> counts, BuildInfo buildInfo) {
        this.read = new ProbeRead<>("memfd", counts);
        this.buildInfo = buildInfo;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        read.collect(snapshots, MemfdCollector::addCounts);
        snapshots.metricSnapshot(InfoSnapshot.builder().name(MetricFamily.BUILD.baseName()).help(MetricFamily.BUILD.help())
                .dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder().labels(Labels.of(
                        "version", buildInfo.version(),
                        "libbpf_version", buildInfo.libbpfVersion(),
                        "java_version", buildInfo.javaVersion())).build())
                .build());
        return snapshots.build();
    }

    private static void addCounts(MetricSnapshots.Builder snapshots, MemfdCounts read) {
        Map<String, Long> byComm = new HashMap<>();
        read.callsByComm().forEach((comm, count) -> byComm.merge(CommLabel.of(comm), count, Long::sum));
        CounterSnapshot.Builder calls = counter(MetricFamily.CALLS);
        byComm.forEach((comm, count) -> calls.dataPoint(point(count, "comm", comm)));
        snapshots.metricSnapshot(calls.build());

        CounterSnapshot.Builder byFlags = counter(MetricFamily.CALLS_BY_FLAGS);
        Map<String, Long> flags = new HashMap<>();
        read.callsByFlags().forEach((key, count) -> flags.merge(FlagNames.label(key), count, Long::sum));
        flags.forEach((label, count) -> byFlags.dataPoint(point(count, "flags", label)));
        snapshots.metricSnapshot(byFlags.build());

        Map<Labels, Long> failureCounts = new HashMap<>();
        read.failures().forEach((FailureKey key, Long count) -> failureCounts.merge(
                Labels.of("comm", CommLabel.of(key.comm()), "errno", Errnos.name(key.errno())), count, Long::sum));
        CounterSnapshot.Builder failures = counter(MetricFamily.FAILURES);
        failureCounts.forEach((labels, count) -> failures.dataPoint(
                CounterDataPointSnapshot.builder().labels(labels).value(count).build()));
        snapshots.metricSnapshot(failures.build());

        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_CALLS).dataPoint(point(read.totals().calls())).build());
        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_FAILURES).dataPoint(point(read.totals().failures())).build());
        snapshots.metricSnapshot(counter(MetricFamily.UNRECORDED)
                .dataPoint(point(read.totals().unrecordedComm(), "map", "calls_by_comm"))
                .dataPoint(point(read.totals().unrecordedFlags(), "map", "calls_by_flags"))
                .dataPoint(point(read.totals().unrecordedFailures(), "map", "failures_by_comm"))
                .build());
        Snapshots.addMapFill(snapshots, read.fill());
    }
}
