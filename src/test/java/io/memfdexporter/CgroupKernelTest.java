package io.memfdexporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MountNamespace;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;

/**
 * Calls are attributed to the caller's cgroup v2 path and to the container and
 * pod it names, and removed cgroups give their slots back. The exporter runs
 * in a private mount namespace whose only cgroup2 mount is at an unusual place
 * (MountNamespace.withOwnCgroup2): nothing depends on where the runner mounts cgroup2.
 * The test's cgroups are made under one directory of the host hierarchy, removed afterwards.
 */
@ExtendWith(RequiresBpf.class)
class CgroupKernelTest {
    private static final String ID_A = "3f1c9a7be05d4c2f8a6e1b0d9c8f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e";
    private static final String ID_B = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static final String UID_A = "6c0d2e0a-6f7b-4bd1-9a3e-0b1c2d3e4f50";
    private static final String UID_B = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    /* Python: moves this process into the cgroup directory PATH, makes CALLS memfd_create calls of which FAILS fail. */
    private static final String CALLS_IN_CGROUP = """
            import os, sys
            path, calls, fails = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            with open(path + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
            for _ in range(calls - fails): os.close(os.memfd_create('x'))
            for _ in range(fails):
                try: os.memfd_create('x', 0x40000000)
                except OSError: pass
                else: sys.exit('an invalid flag was accepted')
            """;

    private MountNamespace namespace;
    private String top;

    @BeforeEach
    void ownCgroup2() throws IOException {
        namespace = MountNamespace.withOwnCgroup2();
        top = "/mfdtest-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000;
        Files.createDirectory(cgroup(top));
    }

    @AfterEach
    void removeCgroups() throws IOException {
        try (Stream<Path> dirs = Files.walk(cgroup(top))) { // children first; each is empty: its processes exited
            for (Path dir : dirs.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(dir);
            }
        } finally {
            namespace.close();
        }
    }

    @Test
    void callsInContainerShapedCgroupsCarryTheirContainerIdAndPodUid() throws Exception {
        String containerd = top + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                + UID_A.replace('-', '_') + ".slice/cri-containerd-" + ID_A + ".scope";
        String cgroupfs = top + "/kubepods/besteffort/pod" + UID_B + "/" + ID_B;
        Files.createDirectories(cgroup(containerd));
        Files.createDirectories(cgroup(cgroupfs));
        try (ChildExporter exporter = start()) {
            callsIn(containerd, 41, 7);
            callsIn(cgroupfs, 23, 5);
            Exposition metrics = Http.scrape(exporter.port());
            assertEquals(41, metrics.value("memfd_create_calls_by_cgroup_total", labels(containerd, "containerd://" + ID_A, UID_A)));
            assertEquals(7, metrics.value("memfd_create_failures_by_cgroup_total", labels(containerd, "containerd://" + ID_A, UID_A)));
            assertEquals(23, metrics.value("memfd_create_calls_by_cgroup_total", labels(cgroupfs, "containerd://" + ID_B, UID_B)));
            assertEquals(5, metrics.value("memfd_create_failures_by_cgroup_total", labels(cgroupfs, "containerd://" + ID_B, UID_B)));
        }
    }

    @Test
    void podCgroupsMadeBeforeAndAfterStartBothResolveToPaths() throws Exception {
        String before = top + "/kubepods/burstable/pod" + UID_A + "/" + ID_A;
        String after = top + "/kubepods/burstable/pod" + UID_B + "/" + ID_B;
        Files.createDirectories(cgroup(before));
        try (ChildExporter exporter = start()) {
            callsIn(before, 11, 0);
            assertEquals(11, Http.scrape(exporter.port()).value("memfd_create_calls_by_cgroup_total",
                    labels(before, "containerd://" + ID_A, UID_A)));
            Files.createDirectories(cgroup(after)); // after a walk of the tree that did not see it
            callsIn(after, 13, 0);
            Exposition metrics = Http.scrape(exporter.port());
            assertEquals(11, metrics.value("memfd_create_calls_by_cgroup_total", labels(before, "containerd://" + ID_A, UID_A)));
            assertEquals(13, metrics.value("memfd_create_calls_by_cgroup_total", labels(after, "containerd://" + ID_B, UID_B)));
            assertEquals(0, metrics.value("memfd_create_calls_by_cgroup_total", labels("(unknown)", "", "")));
        }
    }

    private ChildExporter start() throws Exception {
        return ChildExporter.start(namespace.wrapper(), "--web.listen-address=127.0.0.1:0", "--no-collector.live");
    }

    private Path cgroup(String path) {
        return namespace.path(MountNamespace.CGROUP2 + path);
    }

    private void callsIn(String path, int calls, int fails) throws Exception {
        Python.named("mfdcg").run(CALLS_IN_CGROUP, cgroup(path).toString(), Integer.toString(calls), Integer.toString(fails));
    }

    private static String[] labels(String cgroup, String containerId, String podUid) {
        return List.of("cgroup", cgroup, "container_id", containerId, "pod_uid", podUid).toArray(String[]::new);
    }
}
