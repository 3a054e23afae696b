package io.memfdexporter.metrics;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.live.LiveMemfdMonitor;
import io.memfdexporter.live.LiveScan;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * Exposes the last completed live memfd scan. A scrape never scans: it turns
 * the monitor's immutable result into snapshots, so a comm that held memfds at
 * the previous scan and holds none now has no series. The series are bounded
 * like the counters' but ranked afresh at every scan: these are gauges, so a
 * comm moving into or out of {@value TopComms#OTHER} moves no history.
 */
public final class LiveMemfdCollector implements MultiCollector {
    /* Most allocated bytes first, then apparent bytes, files, label. */
    private static final Comparator<Map.Entry<String, LiveScan.Usage>> RANK = Comparator
            .<Map.Entry<String, LiveScan.Usage>, Long>comparing(entry -> entry.getValue().allocatedBytes(), Long::compareUnsigned)
            .thenComparing(entry -> entry.getValue().apparentBytes(), Long::compareUnsigned)
            .thenComparing(entry -> entry.getValue().files(), Long::compareUnsigned)
            .reversed()
            .thenComparing(Map.Entry::getKey);

    private final LiveMemfdMonitor monitor;
    private final int maxCommSeries;

    /** @param maxCommSeries comm series per family; the comms holding less are summed as {@value TopComms#OTHER} */
    public LiveMemfdCollector(LiveMemfdMonitor monitor, int maxCommSeries) {
        this.monitor = monitor;
        this.maxCommSeries = maxCommSeries;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        // Until the first scan completes there is nothing to report but failures.
        monitor.latest().ifPresent(scan -> addScan(snapshots, scan));
        snapshots.metricSnapshot(MetricFamily.LIVE_SCAN_ERRORS.counter().dataPoint(
                CounterDataPointSnapshot.builder().value(monitor.scanErrors()).build()).build());
        return snapshots.build();
    }

    private void addScan(MetricSnapshots.Builder snapshots, LiveScan scan) {
        Map<String, LiveScan.Usage> all = new HashMap<>();
        scan.byComm().forEach((comm, usage) -> all.merge(CommLabel.of(comm), usage, LiveScan.Usage::plus));
        Map<String, LiveScan.Usage> byLabel = bounded(all, snapshots);
        snapshots.metricSnapshot(byComm(MetricFamily.LIVE_ALLOCATED, byLabel, LiveScan.Usage::allocatedBytes).unit(Unit.BYTES).build());
        snapshots.metricSnapshot(byComm(MetricFamily.LIVE_APPARENT, byLabel, LiveScan.Usage::apparentBytes).unit(Unit.BYTES).build());
        snapshots.metricSnapshot(byComm(MetricFamily.LIVE_FILES, byLabel, LiveScan.Usage::files).build());

        snapshots.metricSnapshot(single(MetricFamily.LIVE_SCAN_DURATION, scan.durationSeconds()).unit(Unit.SECONDS).build());
        snapshots.metricSnapshot(single(MetricFamily.LIVE_SCAN_TIMESTAMP, scan.finishedAtSeconds()).unit(Unit.SECONDS).build());
        snapshots.metricSnapshot(single(MetricFamily.LIVE_SCANNED_PROCESSES, scan.processes()).build());
        snapshots.metricSnapshot(single(MetricFamily.LIVE_SCANNED_FDS, scan.fds()).build());
        // Every reason, 0 included, so that alerts can compare without absent().
        GaugeSnapshot.Builder skipped = MetricFamily.LIVE_SKIPPED_PROCESSES.gauge();
        for (LiveScan.Skip reason : LiveScan.Skip.values()) {
            skipped.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("reason", reason.label()))
                    .value(scan.skippedProcesses().getOrDefault(reason, 0)).build());
        }
        snapshots.metricSnapshot(skipped.build());
    }

    /* The maxCommSeries largest labels and the rest summed as OTHER; adds how many labels that rest is. */
    private Map<String, LiveScan.Usage> bounded(Map<String, LiveScan.Usage> byLabel, MetricSnapshots.Builder snapshots) {
        LiveScan.Usage rest = byLabel.remove(TopComms.OTHER); // a comm named "(other)" is summed with the rest
        int folded = rest == null ? 0 : 1;
        Map<String, LiveScan.Usage> series = new HashMap<>();
        for (Map.Entry<String, LiveScan.Usage> entry : TopComms.best(byLabel.entrySet(), maxCommSeries, RANK)) {
            series.put(entry.getKey(), entry.getValue());
        }
        for (Map.Entry<String, LiveScan.Usage> entry : byLabel.entrySet()) {
            if (!series.containsKey(entry.getKey())) {
                rest = rest == null ? entry.getValue() : rest.plus(entry.getValue());
                folded++;
            }
        }
        if (rest != null) {
            series.put(TopComms.OTHER, rest);
        }
        GaugeSnapshot.Builder foldedComms = MetricFamily.FOLDED_COMMS.gauge();
        for (MetricFamily family : List.of(MetricFamily.LIVE_ALLOCATED, MetricFamily.LIVE_APPARENT, MetricFamily.LIVE_FILES)) {
            foldedComms.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("family", family.exposedName()))
                    .value(folded).build());
        }
        snapshots.metricSnapshot(foldedComms.build());
        return series;
    }

    private static GaugeSnapshot.Builder byComm(MetricFamily family, Map<String, LiveScan.Usage> byLabel,
                                                ToLongFunction<LiveScan.Usage> value) {
        GaugeSnapshot.Builder gauge = family.gauge();
        byLabel.forEach((comm, usage) -> gauge.dataPoint(GaugeDataPointSnapshot.builder()
                .labels(Labels.of("comm", comm)).value(U64.toDouble(value.applyAsLong(usage))).build()));
        return gauge;
    }

    private static GaugeSnapshot.Builder single(MetricFamily family, double value) {
        return family.gauge().dataPoint(GaugeDataPointSnapshot.builder().value(value).build());
    }
}
