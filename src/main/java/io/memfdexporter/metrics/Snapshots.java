package io.memfdexporter.metrics;

import java.util.List;

import io.memfdexporter.probe.MapFill;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** Snapshot builders named and described by a {@link MetricFamily}, for every collector. */
final class Snapshots {
    private Snapshots() {
    }

    static CounterSnapshot.Builder counter(MetricFamily family) {
        return CounterSnapshot.builder().name(family.baseName()).help(family.help());
    }

    static GaugeSnapshot.Builder gauge(MetricFamily family) {
        return GaugeSnapshot.builder().name(family.baseName()).help(family.help());
    }

    /** A counter point without labels. */
    static CounterDataPointSnapshot point(long value) {
        return CounterDataPointSnapshot.builder().value(value).build();
    }

    static CounterDataPointSnapshot point(long value, String labelName, String labelValue) {
        return CounterDataPointSnapshot.builder().labels(Labels.of(labelName, labelValue)).value(value).build();
    }

    /**
     * Adds each map's entries and capacity. Several collectors add points to
     * these two families, one per map; client_java merges same-named families.
     */
    static void addMapFill(MetricSnapshots.Builder snapshots, List<MapFill> fill) {
        GaugeSnapshot.Builder entries = gauge(MetricFamily.MAP_ENTRIES);
        GaugeSnapshot.Builder capacity = gauge(MetricFamily.MAP_CAPACITY);
        for (MapFill map : fill) {
            Labels labels = Labels.of("map", map.map());
            entries.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(map.entries()).build());
            capacity.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(map.capacity()).build());
        }
        snapshots.metricSnapshot(entries.build());
        snapshots.metricSnapshot(capacity.build());
    }
}
