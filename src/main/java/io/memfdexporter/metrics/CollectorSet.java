package io.memfdexporter.metrics;

import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot.InfoDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * Every collector of the exporter, run once per scrape, as node_exporter does:
 * each one is timed and its success reported, and one that fails leaves its
 * own families out without failing the scrape. Adds the build info.
 * <p>
 * Closing it waits for the collections in flight and refuses later ones, so
 * that the exporter can then close what collectors read without a scrape
 * seeing half of it closed.
 */
public final class CollectorSet implements MultiCollector, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CollectorSet.class.getName());

    private final List<Named> collectors;
    private final BuildInfo buildInfo;
    private final ReentrantReadWriteLock running = new ReentrantReadWriteLock();
    /* Written under the write lock, read under either. */
    private boolean closed;

    /** A collector and its name, the value of its {@code collector} label. */
    public record Named(String name, MultiCollector collector) {
    }

    /** @param collectors in exposition order */
    public CollectorSet(List<Named> collectors, BuildInfo buildInfo) {
        this.collectors = List.copyOf(collectors);
        this.buildInfo = buildInfo;
    }

    /** @throws IllegalStateException once closed */
    @Override
    public MetricSnapshots collect() {
        running.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("the exporter is stopping");
            }
            return collectAll();
        } finally {
            running.readLock().unlock();
        }
    }

    private MetricSnapshots collectAll() {
        MetricSnapshots.Builder snapshots = MetricSnapshots.builder();
        GaugeSnapshot.Builder durations = MetricFamily.COLLECTOR_DURATION.gauge();
        GaugeSnapshot.Builder successes = MetricFamily.COLLECTOR_SUCCESS.gauge();
        for (Named named : collectors) {
            String name = named.name();
            MultiCollector collector = named.collector();
            long start = System.nanoTime();
            boolean success;
            try {
                for (MetricSnapshot snapshot : collector.collect()) {
                    snapshots.metricSnapshot(snapshot);
                }
                success = true;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "collector " + name + " failed", e);
                success = false;
            }
            Labels labels = Labels.of("collector", name);
            durations.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value((System.nanoTime() - start) / 1e9).build());
            successes.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(success ? 1 : 0).build());
        }
        snapshots.metricSnapshot(durations.build());
        snapshots.metricSnapshot(successes.build());
        snapshots.metricSnapshot(MetricFamily.BUILD.info().dataPoint(InfoDataPointSnapshot.builder().labels(Labels.of(
                "version", buildInfo.version(),
                "libbpf_version", buildInfo.libbpfVersion(),
                "java_version", buildInfo.javaVersion())).build()).build());
        return snapshots.build();
    }

    /** Waits for the collections in flight; every later one is refused. */
    @Override
    public void close() {
        running.writeLock().lock();
        try {
            closed = true;
        } finally {
            running.writeLock().unlock();
        }
    }
}
