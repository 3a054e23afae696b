package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.MemfdCounts;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * Reads the probe's maps on every scrape and builds fresh snapshots from
 * them: no metric state lives between scrapes except the read-error count.
 */
public final class MemfdCollector implements MultiCollector {
    private static final Logger LOG = Logger.getLogger(MemfdCollector.class.getName());

    private final Supplier<MemfdCounts> counts;
    private final BuildInfo buildInfo;
    private final AtomicLong readErrors = new AtomicLong();

    /** @param counts reads the maps; called once per scrape, on a worker thread */
    public MemfdCollector(Supplier<MemfdCounts> counts, BuildInfo buildInfo) {
        this.counts = counts;
        this.buildInfo = buildInfo;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        long start = System.nanoTime();
        try {
            MemfdCounts read = counts.get();
            addCounts(snapshots, read);
        } catch (RuntimeException e) {
            readErrors.incrementAndGet();
            LOG.log(Level.WARNING, "reading the BPF maps failed", e);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        snapshots.metricSnapshot(gauge(MetricFamily.READ_DURATION).dataPoint(
                GaugeDataPointSnapshot.builder().value(seconds).build()).unit(Unit.SECONDS).build());
        snapshots.metricSnapshot(counter(MetricFamily.READ_ERRORS).dataPoint(
                CounterDataPointSnapshot.builder().value(readErrors.get()).build()).build());
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
                Labels.of("comm", CommLabel.of(key.comm()), "errno", io.memfdexporter.bpf.Errnos.name(key.errno())),
                count, Long::sum));
        CounterSnapshot.Builder failures = counter(MetricFamily.FAILURES);
        failureCounts.forEach((labels, count) -> failures.dataPoint(
                CounterDataPointSnapshot.builder().labels(labels).value(count).build()));
        snapshots.metricSnapshot(failures.build());

        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_CALLS)
                .dataPoint(CounterDataPointSnapshot.builder().value(read.totals().calls()).build()).build());
        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_FAILURES)
                .dataPoint(CounterDataPointSnapshot.builder().value(read.totals().failures()).build()).build());
        snapshots.metricSnapshot(counter(MetricFamily.UNRECORDED)
                .dataPoint(point(read.totals().unrecordedComm(), "map", "calls_by_comm"))
                .dataPoint(point(read.totals().unrecordedFlags(), "map", "calls_by_flags"))
                .dataPoint(point(read.totals().unrecordedFailures(), "map", "failures_by_comm"))
                .build());

        GaugeSnapshot.Builder entries = gauge(MetricFamily.MAP_ENTRIES);
        GaugeSnapshot.Builder capacity = gauge(MetricFamily.MAP_CAPACITY);
        for (MapFill fill : read.fill()) {
            entries.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.entries()).build());
            capacity.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.capacity()).build());
        }
        snapshots.metricSnapshot(entries.build());
        snapshots.metricSnapshot(capacity.build());
    }

    static CounterSnapshot.Builder counter(MetricFamily family) {
        return CounterSnapshot.builder().name(family.baseName()).help(family.help());
    }

    static GaugeSnapshot.Builder gauge(MetricFamily family) {
        return GaugeSnapshot.builder().name(family.baseName()).help(family.help());
    }

    private static CounterDataPointSnapshot point(long value, String labelName, String labelValue) {
        return CounterDataPointSnapshot.builder().labels(Labels.of(labelName, labelValue)).value(value).build();
    }
}
