package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.function.ToLongFunction;

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
 * the previous scan and holds none now has no series.
 */
public final class LiveMemfdCollector implements MultiCollector {
    private final LiveMemfdMonitor monitor;

    public LiveMemfdCollector(LiveMemfdMonitor monitor) {
        this.monitor = monitor;
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

    private static void addScan(MetricSnapshots.Builder snapshots, LiveScan scan) {
        Map<String, LiveScan.Usage> byLabel = new HashMap<>();
        scan.byComm().forEach((comm, usage) -> byLabel.merge(CommLabel.of(comm), usage, LiveScan.Usage::plus));
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

    private static GaugeSnapshot.Builder byComm(MetricFamily family, Map<String, LiveScan.Usage> byLabel,
                                                ToLongFunction<LiveScan.Usage> value) {
        GaugeSnapshot.Builder gauge = family.gauge();
        byLabel.forEach((comm, usage) -> gauge.dataPoint(GaugeDataPointSnapshot.builder()
                .labels(Labels.of("comm", comm)).value(value.applyAsLong(usage)).build()));
        return gauge;
    }

    private static GaugeSnapshot.Builder single(MetricFamily family, double value) {
        return family.gauge().dataPoint(GaugeDataPointSnapshot.builder().value(value).build());
    }
}
