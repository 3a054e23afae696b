package io.memfdexporter.metrics;

import java.util.function.Supplier;

import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.ExecCounts;
import io.memfdexporter.probe.ExecKey;
import io.memfdexporter.probe.MemfdNameKind;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** Executions of memfds, from bpf/exec.bpf.c's maps. */
public final class ExecCollector extends ProbeCollector<ExecCounts> {
    private final CgroupPaths cgroups;

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; the rest are summed as {@value TopComms#OTHER}
     */
    public ExecCollector(Supplier<ExecCounts> counts, CgroupPaths cgroups, int maxCommSeries) {
        super(counts, maxCommSeries);
        this.cgroups = cgroups;
    }

    @Override
    void addCounts(MetricSnapshots.Builder snapshots, ExecCounts read) {
        snapshots.metricSnapshot(countsByCommAnd(MetricFamily.EXECS, read.execs(), ExecCollector::commLabel,
                key -> Labels.of("memfd_name_kind", nameKindLabel(key.nameKind()), "via", key.via().label())).build());
        snapshots.metricSnapshot(countsByCgroup(MetricFamily.EXECS_BY_CGROUP, read.execsByCgroup(), cgroups).build());
        addCgroupLosses(snapshots, new CgroupLosses(MetricFamily.EXECS_BY_CGROUP, read.totals().removedCgroup(),
                read.totals().unrecordedCgroup()));
        snapshots.metricSnapshot(MetricFamily.OBSERVED_EXECS.counter().dataPoint(point(read.totals().execs())).build());
        snapshots.metricSnapshot(MetricFamily.UNRECORDED_EXECS.counter().dataPoint(point(read.totals().unrecorded())).build());
    }

    private static String commLabel(ExecKey key) {
        return key.commKnown() ? CommLabel.of(key.comm()) : CommLabel.UNKNOWN;
    }

    /** A fixed set whatever the name: memfd names are chosen by whoever creates the memfd. */
    private static String nameKindLabel(MemfdNameKind kind) {
        return switch (kind) {
            case RUNC -> "runc";
            case OTHER -> "other";
        };
    }
}
