package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

import io.memfdexporter.bpf.Errnos;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.ProbeCounts;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * Reads one probe's maps on every scrape and builds fresh snapshots from
 * them. Every probe's collector adds its own points to the map fill families
 * (label {@code map}): client_java merges same-named families of several
 * collectors. A failed read throws; {@link CollectorSet} reports it.
 */
abstract class ProbeCollector<T extends ProbeCounts> implements MultiCollector {
    private final Supplier<T> counts;
    private final int maxCommSeries;

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; the rest are summed as {@value TopComms#OTHER}
     */
    ProbeCollector(Supplier<T> counts, int maxCommSeries) {
        this.counts = counts;
        this.maxCommSeries = maxCommSeries;
    }

    @Override
    public final MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        T read = counts.get();
        addCounts(snapshots, read);
        addFill(snapshots, read);
        return snapshots.build();
    }

    /** Adds the snapshots of this probe's own families. */
    abstract void addCounts(MetricSnapshots.Builder snapshots, T read);

    private static void addFill(MetricSnapshots.Builder snapshots, ProbeCounts read) {
        GaugeSnapshot.Builder entries = MetricFamily.MAP_ENTRIES.gauge();
        GaugeSnapshot.Builder capacity = MetricFamily.MAP_CAPACITY.gauge();
        for (MapFill fill : read.fill()) {
            entries.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.entries()).build());
            capacity.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.capacity()).build());
        }
        snapshots.metricSnapshot(entries.build());
        snapshots.metricSnapshot(capacity.build());
    }

    /**
     * A counter family labelled by comm: comms with the same label are summed,
     * and beyond the largest {@code maxCommSeries} comms into {@value TopComms#OTHER}.
     */
    CounterSnapshot.Builder countsByComm(MetricFamily family, Map<CommKey, Long> counts) {
        CounterSnapshot.Builder counter = family.counter();
        TopComms.countsByLabel(counts, maxCommSeries).forEach((comm, count) -> counter.dataPoint(point(count, "comm", comm)));
        return counter;
    }

    /** A counter family labelled by comm and errno name, comms bounded as in {@link #countsByComm}. */
    CounterSnapshot.Builder failuresByComm(MetricFamily family, Map<FailureKey, Long> failures) {
        return countsByCommAnd(family, failures, key -> CommLabel.of(key.comm()), "errno", key -> Errnos.name(key.errno()));
    }

    /**
     * A counter family labelled by comm and one more label: keys with the same
     * labels are summed, comms bounded as in {@link #countsByComm} (by their total over the other label).
     */
    <K> CounterSnapshot.Builder countsByCommAnd(MetricFamily family, Map<K, Long> counts, Function<K, String> comm,
                                                String labelName, Function<K, String> labelValue) {
        Map<String, Long> byComm = new HashMap<>();
        counts.forEach((key, count) -> byComm.merge(comm.apply(key), count, Long::sum));
        Set<String> shown = TopComms.top(byComm, maxCommSeries);
        Map<Labels, Long> byLabels = new HashMap<>();
        counts.forEach((key, count) -> {
            String commLabel = comm.apply(key);
            byLabels.merge(Labels.of("comm", shown.contains(commLabel) ? commLabel : TopComms.OTHER,
                    labelName, labelValue.apply(key)), count, Long::sum);
        });
        CounterSnapshot.Builder counter = family.counter();
        byLabels.forEach((labels, count) -> counter.dataPoint(
                CounterDataPointSnapshot.builder().labels(labels).value(count).build()));
        return counter;
    }

    static CounterDataPointSnapshot point(long value) {
        return CounterDataPointSnapshot.builder().value(value).build();
    }

    static CounterDataPointSnapshot point(long value, String labelName, String labelValue) {
        return CounterDataPointSnapshot.builder().labels(Labels.of(labelName, labelValue)).value(value).build();
    }
}
