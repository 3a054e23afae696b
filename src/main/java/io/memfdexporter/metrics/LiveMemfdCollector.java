package io.memfdexporter.metrics;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BinaryOperator;
import java.util.function.ToLongFunction;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.live.LiveMemfdMonitor;
import io.memfdexporter.live.LiveScan;
import io.memfdexporter.cgroup.CgroupPaths;
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
    /* Most executable bytes (both kinds) first, then processes, label. */
    private static final Comparator<Map.Entry<String, Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage>>> EXECUTABLE_RANK =
            Comparator.<Map.Entry<String, Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage>>, Long>comparing(
                            entry -> total(entry.getValue()).bytes(), Long::compareUnsigned)
                    .thenComparing(entry -> total(entry.getValue()).processes(), Long::compareUnsigned)
                    .reversed()
                    .thenComparing(Map.Entry::getKey);
    private static final Comparator<Map.Entry<String, Long>> CGROUP_RANK = Comparator
            .<Map.Entry<String, Long>, Long>comparing(Map.Entry::getValue, Long::compareUnsigned)
            .reversed()
            .thenComparing(Map.Entry::getKey);

    private final LiveMemfdMonitor monitor;
    private final CgroupPaths cgroups;
    private final int maxCommSeries;

    /** @param maxCommSeries comm (and cgroup) series per family; the rest are summed as {@value TopComms#OTHER} */
    public LiveMemfdCollector(LiveMemfdMonitor monitor, CgroupPaths cgroups, int maxCommSeries) {
        this.monitor = monitor;
        this.cgroups = cgroups;
        this.maxCommSeries = maxCommSeries;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        snapshots.metricSnapshot(MetricFamily.LIVE_SCAN_METHOD.gauge().dataPoint(GaugeDataPointSnapshot.builder()
                .labels(Labels.of("method", monitor.method().label())).value(1).build()).build());
        // Until the first scan completes there is nothing to report but failures.
        monitor.latest().ifPresent(scan -> addScan(snapshots, scan));
        snapshots.metricSnapshot(MetricFamily.LIVE_SCAN_ERRORS.counter().dataPoint(
                CounterDataPointSnapshot.builder().value(monitor.scanErrors()).build()).build());
        return snapshots.build();
    }

    private void addScan(MetricSnapshots.Builder snapshots, LiveScan scan) {
        GaugeSnapshot.Builder folded = MetricFamily.FOLDED_COMMS.gauge();
        Map<String, LiveScan.Usage> all = new HashMap<>();
        scan.byComm().forEach((comm, usage) -> all.merge(CommLabel.of(comm), usage, LiveScan.Usage::plus));
        Map<String, LiveScan.Usage> byLabel = bounded(all, RANK, LiveScan.Usage::plus, folded,
                List.of(MetricFamily.LIVE_ALLOCATED, MetricFamily.LIVE_APPARENT, MetricFamily.LIVE_FILES));
        snapshots.metricSnapshot(byComm(MetricFamily.LIVE_ALLOCATED, byLabel, LiveScan.Usage::allocatedBytes).unit(Unit.BYTES).build());
        snapshots.metricSnapshot(byComm(MetricFamily.LIVE_APPARENT, byLabel, LiveScan.Usage::apparentBytes).unit(Unit.BYTES).build());
        snapshots.metricSnapshot(byComm(MetricFamily.LIVE_FILES, byLabel, LiveScan.Usage::files).build());
        scan.executable().ifPresent(executable -> addExecutable(snapshots, executable, folded));
        scan.allocatedByCgroup().ifPresent(byCgroup -> addCgroups(snapshots, byCgroup, folded));
        snapshots.metricSnapshot(folded.build());

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

    /* Every comm series has both kinds, 0 included, so that alerts can compare kinds without absent(). */
    private void addExecutable(MetricSnapshots.Builder snapshots, Map<LiveScan.Executable, LiveScan.ExecutableUsage> executable,
                               GaugeSnapshot.Builder folded) {
        Map<String, Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage>> all = new HashMap<>();
        executable.forEach((key, usage) -> all.computeIfAbsent(CommLabel.of(key.comm()), comm -> new HashMap<>())
                .merge(key.kind(), usage, LiveScan.ExecutableUsage::plus));
        Map<String, Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage>> byLabel = bounded(all, EXECUTABLE_RANK,
                LiveMemfdCollector::plus, folded, List.of(MetricFamily.LIVE_EXECUTABLE_BYTES, MetricFamily.LIVE_EXECUTABLE_PROCESSES));
        GaugeSnapshot.Builder bytes = MetricFamily.LIVE_EXECUTABLE_BYTES.gauge();
        GaugeSnapshot.Builder processes = MetricFamily.LIVE_EXECUTABLE_PROCESSES.gauge();
        byLabel.forEach((comm, kinds) -> {
            for (LiveScan.ExecutableKind kind : LiveScan.ExecutableKind.values()) {
                LiveScan.ExecutableUsage usage = kinds.getOrDefault(kind, new LiveScan.ExecutableUsage(0, 0));
                Labels labels = Labels.of("comm", comm, "kind", kind.label());
                bytes.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(U64.toDouble(usage.bytes())).build());
                processes.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(U64.toDouble(usage.processes())).build());
            }
        });
        snapshots.metricSnapshot(bytes.unit(Unit.BYTES).build());
        snapshots.metricSnapshot(processes.build());
    }

    private void addCgroups(MetricSnapshots.Builder snapshots, Map<Long, Long> byCgroup, GaugeSnapshot.Builder folded) {
        Map<Long, String> paths = cgroups.pathsOf(byCgroup.keySet());
        Map<String, Long> all = new HashMap<>();
        byCgroup.forEach((id, bytes) -> all.merge(paths.get(id), bytes, U64::add));
        Map<String, Long> byPath = bounded(all, CGROUP_RANK, U64::add, folded, List.of(MetricFamily.LIVE_ALLOCATED_BY_CGROUP));
        GaugeSnapshot.Builder gauge = MetricFamily.LIVE_ALLOCATED_BY_CGROUP.gauge();
        byPath.forEach((path, bytes) -> gauge.dataPoint(GaugeDataPointSnapshot.builder()
                .labels(CgroupLabels.of(path)).value(U64.toDouble(bytes)).build()));
        snapshots.metricSnapshot(gauge.build());
    }

    private static LiveScan.ExecutableUsage total(Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> kinds) {
        return kinds.values().stream().reduce(new LiveScan.ExecutableUsage(0, 0), LiveScan.ExecutableUsage::plus);
    }

    private static Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> plus(
            Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> a, Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> b) {
        Map<LiveScan.ExecutableKind, LiveScan.ExecutableUsage> sum = new HashMap<>(a);
        b.forEach((kind, usage) -> sum.merge(kind, usage, LiveScan.ExecutableUsage::plus));
        return sum;
    }

    /*
     * The maxCommSeries largest labels and the rest summed as OTHER; adds to folded how many labels that rest is,
     * once per family.
     */
    private <V> Map<String, V> bounded(Map<String, V> byLabel, Comparator<Map.Entry<String, V>> rank, BinaryOperator<V> plus,
                                       GaugeSnapshot.Builder folded, List<MetricFamily> families) {
        V rest = byLabel.remove(TopComms.OTHER); // a label "(other)" is summed with the rest
        int foldedLabels = rest == null ? 0 : 1;
        Map<String, V> series = new HashMap<>();
        for (Map.Entry<String, V> entry : TopComms.best(byLabel.entrySet(), maxCommSeries, rank)) {
            series.put(entry.getKey(), entry.getValue());
        }
        for (Map.Entry<String, V> entry : byLabel.entrySet()) {
            if (!series.containsKey(entry.getKey())) {
                rest = rest == null ? entry.getValue() : plus.apply(rest, entry.getValue());
                foldedLabels++;
            }
        }
        if (rest != null) {
            series.put(TopComms.OTHER, rest);
        }
        for (MetricFamily family : families) {
            folded.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("family", family.exposedName()))
                    .value(foldedLabels).build());
        }
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
