package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

import io.memfdexporter.bpf.Errnos;
import io.memfdexporter.bpf.U64;
import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.ProbeCounts;
import io.memfdexporter.probe.SlotCounts;
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
    /* Which comms have a series, per comm family: decided once per comm for the exporter's lifetime (TopComms). */
    private final Map<MetricFamily, TopComms> commSeries = new ConcurrentHashMap<>();

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; comms beyond are summed as {@value TopComms#OTHER}
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
        GaugeSnapshot.Builder folded = MetricFamily.FOLDED_COMMS.gauge();
        commSeries.forEach((family, series) -> folded.dataPoint(GaugeDataPointSnapshot.builder()
                .labels(Labels.of("family", family.exposedName())).value(series.lastFolded()).build()));
        snapshots.metricSnapshot(folded.build());
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
     * and those without a series of their own (see {@link TopComms}) into {@value TopComms#OTHER}.
     */
    CounterSnapshot.Builder countsByComm(MetricFamily family, SlotCounts<CommKey> counts) {
        CounterSnapshot.Builder counter = family.counter();
        commSeries(family).fold(counts, CommLabel::of, key -> Labels.EMPTY)
                .forEach((row, count) -> counter.dataPoint(point(count, "comm", row.comm())));
        return counter;
    }

    /** A counter family labelled by comm and errno name, comms bounded as in {@link #countsByComm}. */
    CounterSnapshot.Builder failuresByComm(MetricFamily family, SlotCounts<FailureKey> failures) {
        return countsByCommAnd(family, failures, key -> CommLabel.of(key.comm()),
                key -> Labels.of("errno", Errnos.name(key.errno())));
    }

    /**
     * A counter family labelled by comm and other labels: keys with the same
     * labels are summed, comms bounded as in {@link #countsByComm} (ranked by their total over the other labels).
     */
    <K> CounterSnapshot.Builder countsByCommAnd(MetricFamily family, SlotCounts<K> counts, Function<K, String> comm,
                                                Function<K, Labels> otherLabels) {
        CounterSnapshot.Builder counter = family.counter();
        commSeries(family).fold(counts, comm, otherLabels).forEach((row, count) -> counter.dataPoint(
                CounterDataPointSnapshot.builder().labels(Labels.of("comm", row.comm()).merge(row.other()))
                        .value(U64.toDouble(count)).build()));
        return counter;
    }

    /**
     * A counter family labelled by cgroup (CgroupLabels): ids with the same path are summed. Bounded by the kernel
     * map's capacity, whose slots removed cgroups give back (bpf/cgroup.bpf.h).
     */
    static CounterSnapshot.Builder countsByCgroup(MetricFamily family, Map<Long, Long> counts, CgroupPaths cgroups) {
        Map<Long, String> paths = cgroups.pathsOf(counts.keySet());
        Map<String, Long> byPath = new HashMap<>();
        counts.forEach((id, count) -> byPath.merge(paths.get(id), count, U64::add));
        CounterSnapshot.Builder counter = family.counter();
        byPath.forEach((path, count) -> counter.dataPoint(CounterDataPointSnapshot.builder()
                .labels(CgroupLabels.of(path)).value(U64.toDouble(count)).build()));
        return counter;
    }

    /** What a per-cgroup family counted for cgroups since removed, and what its full map could not record. */
    record CgroupLosses(MetricFamily family, long removed, long unrecorded) {
    }

    /** The points of {@link MetricFamily#BY_CGROUP_REMOVED} and {@link MetricFamily#BY_CGROUP_UNRECORDED}. */
    static void addCgroupLosses(MetricSnapshots.Builder snapshots, CgroupLosses... losses) {
        CounterSnapshot.Builder removed = MetricFamily.BY_CGROUP_REMOVED.counter();
        CounterSnapshot.Builder unrecorded = MetricFamily.BY_CGROUP_UNRECORDED.counter();
        for (CgroupLosses loss : losses) {
            removed.dataPoint(point(loss.removed(), "family", loss.family().exposedName()));
            unrecorded.dataPoint(point(loss.unrecorded(), "family", loss.family().exposedName()));
        }
        snapshots.metricSnapshot(removed.build());
        snapshots.metricSnapshot(unrecorded.build());
    }

    private TopComms commSeries(MetricFamily family) {
        return commSeries.computeIfAbsent(family, unused -> new TopComms(maxCommSeries));
    }

    /** A counter point of a u64 kernel count. */
    static CounterDataPointSnapshot point(long value) {
        return CounterDataPointSnapshot.builder().value(U64.toDouble(value)).build();
    }

    static CounterDataPointSnapshot point(long value, String labelName, String labelValue) {
        return CounterDataPointSnapshot.builder().labels(Labels.of(labelName, labelValue)).value(U64.toDouble(value)).build();
    }
}
