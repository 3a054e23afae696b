package io.memfdexporter.metrics;

import java.util.List;

import io.memfdexporter.bpf.BpfObject.ProgramStats;
import io.memfdexporter.probe.Probe;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** What the exporter's own BPF programs cost the kernel, when the kernel measures it. */
public final class BpfProgramCollector implements MultiCollector {
    private final List<Probe> probes;

    public BpfProgramCollector(List<Probe> probes) {
        this.probes = List.copyOf(probes);
    }

    @Override
    public MetricSnapshots collect() {
        CounterSnapshot.Builder runs = MetricFamily.PROGRAM_RUNS.counter();
        CounterSnapshot.Builder runTime = MetricFamily.PROGRAM_RUN_TIME.counter();
        for (Probe probe : probes) {
            for (ProgramStats stats : probe.programStats()) {
                Labels labels = Labels.of("program", stats.program());
                runs.dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(stats.runCount()).build());
                runTime.dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(stats.runTimeNanos() / 1e9).build());
            }
        }
        return MetricSnapshots.of(runs.build(), runTime.build());
    }
}
