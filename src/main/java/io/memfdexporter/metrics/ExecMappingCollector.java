package io.memfdexporter.metrics;

import java.util.function.Supplier;

import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.ExecMappingCounts;
import io.memfdexporter.probe.ExecMappingKey;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** Calls that mapped a memfd executable, from bpf/exec_mappings.bpf.c's maps. */
public final class ExecMappingCollector extends ProbeCollector<ExecMappingCounts> {
    private final CgroupPaths cgroups;

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; the rest are summed as {@value TopComms#OTHER}
     */
    public ExecMappingCollector(Supplier<ExecMappingCounts> counts, CgroupPaths cgroups, int maxCommSeries) {
        super(counts, maxCommSeries);
        this.cgroups = cgroups;
    }

    @Override
    void addCounts(MetricSnapshots.Builder snapshots, ExecMappingCounts read) {
        snapshots.metricSnapshot(countsByCommAnd(MetricFamily.EXEC_MAPPINGS, read.mappings(), key -> CommLabel.of(key.comm()),
                ExecMappingCollector::syscallAndKind).build());
        snapshots.metricSnapshot(countsByCgroup(MetricFamily.EXEC_MAPPINGS_BY_CGROUP, read.mappingsByCgroup(), cgroups).build());
        addCgroupLosses(snapshots, new CgroupLosses(MetricFamily.EXEC_MAPPINGS_BY_CGROUP, read.totals().removedCgroup(),
                read.totals().unrecordedCgroup()));
        snapshots.metricSnapshot(MetricFamily.OBSERVED_EXEC_MAPPINGS.counter().dataPoint(point(read.totals().observed())).build());
        snapshots.metricSnapshot(MetricFamily.UNRECORDED_EXEC_MAPPINGS.counter()
                .dataPoint(point(read.totals().unrecorded())).build());
        snapshots.metricSnapshot(MetricFamily.UNCHECKED_EXEC_MAPPINGS.counter()
                .dataPoint(point(read.totals().unchecked())).build());
    }

    private static Labels syscallAndKind(ExecMappingKey key) {
        return Labels.of("syscall", key.syscall().label(), "kind", key.kind().label());
    }
}
