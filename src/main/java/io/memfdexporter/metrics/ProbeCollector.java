package io.memfdexporter.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

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
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * Reads one probe's maps on every scrape and builds fresh snapshots from
 * them; no metric state lives between scrapes except the read-error count.
 * Every probe's collector also adds its own points to the exporter's map fill,
 * read duration and read error families (label {@code map} or {@code probe}):
 * client_java merges same-named families of several collectors.
 */
abstract class ProbeCollector<T extends ProbeCounts> implements MultiCollector {
    private static final Logger LOG = Logger.getLogger(ProbeCollector.class.getName());

    private final String probe;
    private final Supplier<T> counts;
    private final AtomicLong readErrors = new AtomicLong();

    /**
     * @param probe  the {@code probe} label of this collector's read duration and errors
     * @param counts reads the maps; called once per scrape, on a worker thread
     */
    ProbeCollector(String probe, Supplier<T> counts) {
        this.probe = probe;
        this.counts = counts;
    }

    @Override
    public final MetricSnapshots collect() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        long start = System.nanoTime();
        try {
            T read = counts.get();
            addCounts(snapshots, read);
            addFill(snapshots, read);
        } catch (RuntimeException e) {
            readErrors.incrementAndGet();
            LOG.log(Level.WARNING, "reading the BPF maps of probe " + probe + " failed", e);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        snapshots.metricSnapshot(gauge(MetricFamily.READ_DURATION).unit(Unit.SECONDS).dataPoint(
                GaugeDataPointSnapshot.builder().labels(Labels.of("probe", probe)).value(seconds).build()).build());
        snapshots.metricSnapshot(counter(MetricFamily.READ_ERRORS)
                .dataPoint(point(readErrors.get(), "probe", probe)).build());
        return snapshots.build();
    }

    /** Adds the snapshots of this probe's own families. */
    abstract void addCounts(MetricSnapshots.Builder snapshots, T read);

    private static void addFill(MetricSnapshots.Builder snapshots, ProbeCounts read) {
        GaugeSnapshot.Builder entries = gauge(MetricFamily.MAP_ENTRIES);
        GaugeSnapshot.Builder capacity = gauge(MetricFamily.MAP_CAPACITY);
        for (MapFill fill : read.fill()) {
            entries.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.entries()).build());
            capacity.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("map", fill.map())).value(fill.capacity()).build());
        }
        snapshots.metricSnapshot(entries.build());
        snapshots.metricSnapshot(capacity.build());
    }

    /** A counter family labelled by comm; comms with the same label are summed. */
    static CounterSnapshot.Builder countsByComm(MetricFamily family, Map<CommKey, Long> counts) {
        Map<String, Long> byLabel = new HashMap<>();
        counts.forEach((comm, count) -> byLabel.merge(CommLabel.of(comm), count, Long::sum));
        CounterSnapshot.Builder counter = counter(family);
        byLabel.forEach((comm, count) -> counter.dataPoint(point(count, "comm", comm)));
        return counter;
    }

    /** A counter family labelled by comm and errno name; keys with the same labels are summed. */
    static CounterSnapshot.Builder failuresByComm(MetricFamily family, Map<FailureKey, Long> failures) {
        Map<Labels, Long> byLabels = new HashMap<>();
        failures.forEach((key, count) -> byLabels.merge(
                Labels.of("comm", CommLabel.of(key.comm()), "errno", Errnos.name(key.errno())), count, Long::sum));
        CounterSnapshot.Builder counter = counter(family);
        byLabels.forEach((labels, count) -> counter.dataPoint(
                CounterDataPointSnapshot.builder().labels(labels).value(count).build()));
        return counter;
    }

    static CounterSnapshot.Builder counter(MetricFamily family) {
        return CounterSnapshot.builder().name(family.baseName()).help(family.help());
    }

    static GaugeSnapshot.Builder gauge(MetricFamily family) {
        return GaugeSnapshot.builder().name(family.baseName()).help(family.help());
    }

    static CounterDataPointSnapshot point(long value) {
        return CounterDataPointSnapshot.builder().value(value).build();
    }

    static CounterDataPointSnapshot point(long value, String labelName, String labelValue) {
        return CounterDataPointSnapshot.builder().labels(Labels.of(labelName, labelValue)).value(value).build();
    }
}
