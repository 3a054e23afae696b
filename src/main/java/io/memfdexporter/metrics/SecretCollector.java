package io.memfdexporter.metrics;

import java.util.function.Supplier;

import io.memfdexporter.probe.SecretCounts;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** memfd_secret(2) calls and failures, from bpf/secret.bpf.c's maps. */
public final class SecretCollector extends ProbeCollector<SecretCounts> {

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; the rest are summed as {@value TopComms#OTHER}
     */
    public SecretCollector(Supplier<SecretCounts> counts, int maxCommSeries) {
        super(counts, maxCommSeries);
    }

    @Override
    void addCounts(MetricSnapshots.Builder snapshots, SecretCounts read) {
        snapshots.metricSnapshot(countsByComm(MetricFamily.SECRET_CALLS, read.calls()).build());
        snapshots.metricSnapshot(failuresByComm(MetricFamily.SECRET_FAILURES, read.failures()).build());
        snapshots.metricSnapshot(MetricFamily.SECRET_UNRECORDED.counter()
                .dataPoint(point(read.totals().unrecordedCalls(), "map", "secret_calls_by_comm"))
                .dataPoint(point(read.totals().unrecordedFailures(), "map", "secret_failures_by_comm"))
                .build());
    }
}
