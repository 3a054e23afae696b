package io.memfdexporter.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

/** memfd_exporter_build_info: what was built and what it runs on. */
public final class BuildInfoCollector implements Collector {
    private final BuildInfo buildInfo;

    public BuildInfoCollector(BuildInfo buildInfo) {
        this.buildInfo = buildInfo;
    }

    @Override
    public MetricSnapshot collect() {
        return InfoSnapshot.builder().name(MetricFamily.BUILD.baseName()).help(MetricFamily.BUILD.help())
                .dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder().labels(Labels.of(
                        "version", buildInfo.version(),
                        "libbpf_version", buildInfo.libbpfVersion(),
                        "java_version", buildInfo.javaVersion())).build())
                .build();
    }
}
