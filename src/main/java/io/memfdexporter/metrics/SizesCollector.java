package io.memfdexporter.metrics;

import java.util.function.Supplier;

import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.SizesCounts;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;

/** Sizes requested for memfds by ftruncate(2) and fallocate(2), from bpf/sizes.bpf.c's maps. */
public final class SizesCollector extends ProbeCollector<SizesCounts> {
    /** Classic buckets go up to le=2^40 (1 TiB); larger requests are in +Inf (and exact in the native buckets). */
    static final int CLASSIC_MAX_EXPONENT = 40;

    private final CgroupPaths cgroups;

    /**
     * @param counts        reads the maps; called once per scrape, on a worker thread
     * @param maxCommSeries comm series per family; the rest are summed as {@value TopComms#OTHER}
     */
    public SizesCollector(Supplier<SizesCounts> counts, CgroupPaths cgroups, int maxCommSeries) {
        super(counts, maxCommSeries);
        this.cgroups = cgroups;
    }

    @Override
    void addCounts(MetricSnapshots.Builder snapshots, SizesCounts read) {
        snapshots.metricSnapshot(MetricFamily.REQUESTED_SIZE.histogram().unit(Unit.BYTES)
                .dataPoint(Log2HistogramPoints.of(read.sizes(), CLASSIC_MAX_EXPONENT, Labels.EMPTY)).build());
        snapshots.metricSnapshot(countsByComm(MetricFamily.REQUESTED_BYTES, read.bytesByComm()).unit(Unit.BYTES).build());
        snapshots.metricSnapshot(countsByCgroup(MetricFamily.REQUESTED_BYTES_BY_CGROUP, read.bytesByCgroup(), cgroups).build());
        addCgroupLosses(snapshots, new CgroupLosses(MetricFamily.REQUESTED_BYTES_BY_CGROUP, read.cgroupTotals().removed(),
                read.cgroupTotals().unrecorded()));
        snapshots.metricSnapshot(MetricFamily.REQUESTED_UNRECORDED_BYTES.counter().unit(Unit.BYTES)
                .dataPoint(point(read.unrecordedBytes())).build());
        snapshots.metricSnapshot(MetricFamily.REQUESTED_UNSUMMED_BYTES.counter().unit(Unit.BYTES)
                .dataPoint(point(read.unsummedBytes())).build());
    }
}
