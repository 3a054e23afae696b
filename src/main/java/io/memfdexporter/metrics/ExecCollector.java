package io.memfdexporter.metrics;

import static io.memfdexporter.metrics.Snapshots.counter;
import static io.memfdexporter.metrics.Snapshots.point;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import io.memfdexporter.probe.ExecCounts;
import io.memfdexporter.probe.ExecKey;
import io.memfdexporter.probe.MemfdNameKind;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * Reads the exec probe's maps on every scrape and builds fresh snapshots of
 * memfd executions from them.
 */
public final class ExecCollector implements MultiCollector {
    private final ProbeRead<ExecCounts> read;

    /** @param counts reads the maps; called once per scrape, on a worker thread */
    public ExecCollector(Supplier<ExecCounts> counts) {
        this.read = new ProbeRead<>("exec", counts);
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        read.collect(snapshots, ExecCollector::addCounts);
        return snapshots.build();
    }

    private static void addCounts(MetricSnapshots.Builder snapshots, ExecCounts read) {
        Map<Labels, Long> byLabels = new HashMap<>();
        read.execs().forEach((key, count) -> byLabels.merge(labels(key), count, Long::sum));
        CounterSnapshot.Builder execs = counter(MetricFamily.EXECS);
        byLabels.forEach((labels, count) -> execs.dataPoint(
                CounterDataPointSnapshot.builder().labels(labels).value(count).build()));
        snapshots.metricSnapshot(execs.build());

        snapshots.metricSnapshot(counter(MetricFamily.OBSERVED_EXECS).dataPoint(point(read.totals().execs())).build());
        snapshots.metricSnapshot(counter(MetricFamily.UNRECORDED_EXECS).dataPoint(point(read.totals().unrecorded())).build());
        Snapshots.addMapFill(snapshots, read.fill());
    }

    private static Labels labels(ExecKey key) {
        return Labels.of("comm", key.commKnown() ? CommLabel.of(key.comm()) : CommLabel.UNKNOWN,
                "memfd_name_kind", nameKindLabel(key.nameKind()));
    }

    /** A fixed set whatever the name: memfd names are chosen by whoever creates the memfd. */
    private static String nameKindLabel(MemfdNameKind kind) {
        return switch (kind) {
            case RUNC -> "runc";
            case OTHER -> "other";
        };
    }
}
