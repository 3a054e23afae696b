package io.memfdexporter.metrics;

import io.memfdexporter.cgroup.ContainerIdentity;
import io.prometheus.metrics.model.snapshots.Labels;

/**
 * The labels of every per-cgroup family: the cgroup v2 path, and the container
 * id and pod UID it names (empty, which Prometheus treats as absent, when it
 * names none). Both are functions of the path, so they add no series; they are
 * there so that the series join kube-state-metrics' {@code container_id} and
 * {@code uid} without label_replace.
 */
final class CgroupLabels {
    static final String[] NAMES = {"cgroup", "container_id", "pod_uid"};
    /** bpf/memfd.h CGROUP_MAP_ENTRIES: the capacity of every per-cgroup kernel map. */
    static final int MAP_ENTRIES = 4096;

    private CgroupLabels() {
    }

    static Labels of(String path) {
        ContainerIdentity identity = ContainerIdentity.of(path);
        return Labels.of(NAMES[0], path, NAMES[1], identity.containerId(), NAMES[2], identity.podUid());
    }
}
