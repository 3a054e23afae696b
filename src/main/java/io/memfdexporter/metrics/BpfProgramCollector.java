package io.memfdexporter.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.memfdexporter.bpf.BpfObject.ProgramStats;
import io.memfdexporter.probe.Probe;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** What the exporter's own BPF programs cost the kernel, when the kernel measures it. */
public final class BpfProgramCollector implements MultiCollector {
    private static final Path STATS_SYSCTL = Path.of("/proc/sys/kernel/bpf_stats_enabled");

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
        return MetricSnapshots.of(runs.build(), runTime.build(), MetricFamily.BPF_STATS_ENABLED.gauge()
                .dataPoint(GaugeDataPointSnapshot.builder().value(statsEnabled() ? 1 : 0).build()).build());
    }

    private static boolean statsEnabled() {
        try {
            return Files.readString(STATS_SYSCTL).trim().equals("1");
        } catch (IOException e) {
            return false;
        }
    }
}
