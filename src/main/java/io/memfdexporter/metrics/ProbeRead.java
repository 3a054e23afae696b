package io.memfdexporter.metrics;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * One probe's part of a scrape: reads its maps, adds the families built from
 * them, and reports the read's duration and the failed reads so far under
 * {@code probe="NAME"}. A failed read leaves out only that probe's families.
 */
final class ProbeRead<T> {
    private static final Logger LOG = Logger.getLogger(ProbeRead.class.getName());

    private final String probe;
    private final Supplier<T> read;
    private final AtomicLong errors = new AtomicLong();

    /** @param read reads the probe's maps; called once per scrape, on a worker thread */
    ProbeRead(String probe, Supplier<T> read) {
        this.probe = probe;
        this.read = read;
    }

    void collect(MetricSnapshots.Builder snapshots, BiConsumer<MetricSnapshots.Builder, T> addCounts) {
        long start = System.nanoTime();
        try {
            addCounts.accept(snapshots, read.get());
        } catch (RuntimeException e) {
            errors.incrementAndGet();
            LOG.log(Level.WARNING, "reading the BPF maps of probe " + probe + " failed", e);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Labels labels = Labels.of("probe", probe);
        snapshots.metricSnapshot(Snapshots.gauge(MetricFamily.READ_DURATION).unit(Unit.SECONDS)
                .dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(seconds).build()).build());
        snapshots.metricSnapshot(Snapshots.counter(MetricFamily.READ_ERRORS)
                .dataPoint(Snapshots.point(errors.get(), "probe", probe)).build());
    }
}
