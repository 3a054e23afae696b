package io.memfdexporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestCgroups;

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
    /*
     * Python: moves this process into the cgroup directory argv[1], makes argv[2] memfd_create calls of which argv[3]
     * fail, argv[4] of the others map their memfd executable, and argv[5] (0 or 1) the last executes its memfd.
     */
    private static final String CALLS_IN_CGROUP = TestCgroups.JOIN_ARGV1 + """
            import mmap
            calls, fails, maps, execs = (int(arg) for arg in sys.argv[2:6])
            for _ in range(calls - fails - maps - execs): os.close(os.memfd_create('x'))
            for _ in range(fails):
                try: os.memfd_create('x', 0x40000000)
                except OSError: pass
                else: sys.exit('an invalid flag was accepted')
            for _ in range(maps):
                fd = os.memfd_create('code')
                os.ftruncate(fd, 4096)
                mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC).close()
                os.close(fd)
            if execs:
                fd = os.memfd_create('true')
                os.write(fd, open('/bin/true', 'rb').read())
                os.execve(fd, ['true'], {})
            """;

    private TestCgroups cgroups;
    private String top;

    @BeforeEach
    void ownCgroups() throws IOException {
        cgroups = TestCgroups.create("mfdtest");
        top = cgroups.top();
    }

    @AfterEach
    void removeCgroups() throws IOException {
        cgroups.close();
    }

    @Test
    void callsInContainerShapedCgroupsCarryTheirContainerIdAndPodUid() throws Exception {
        String containerd = top + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                + UID_A.replace('-', '_') + ".slice/cri-containerd-" + ID_A + ".scope";
        String cgroupfs = top + "/kubepods/besteffort/pod" + UID_B + "/" + ID_B;
        Files.createDirectories(cgroup(containerd));
        Files.createDirectories(cgroup(cgroupfs));
        try (ChildExporter exporter = start()) {
            callsIn(containerd, 41, 7, 3, 1);
            callsIn(cgroupfs, 23, 5, 2, 1);
            Exposition metrics = Http.scrape(exporter.port());
            String[] a = labels(containerd, "containerd://" + ID_A, UID_A);
            assertEquals(41, metrics.value("memfd_create_calls_by_cgroup_total", a));
            assertEquals(7, metrics.value("memfd_create_failures_by_cgroup_total", a));
            assertEquals(3, metrics.value("memfd_exec_mappings_by_cgroup_total", a));
            assertEquals(1, metrics.value("memfd_exec_by_cgroup_total", a));
            String[] b = labels(cgroupfs, "containerd://" + ID_B, UID_B);
            assertEquals(23, metrics.value("memfd_create_calls_by_cgroup_total", b));
            assertEquals(5, metrics.value("memfd_create_failures_by_cgroup_total", b));
            assertEquals(2, metrics.value("memfd_exec_mappings_by_cgroup_total", b));
            assertEquals(1, metrics.value("memfd_exec_by_cgroup_total", b));
        }
    }

    @Test
    void podCgroupsMadeBeforeAndAfterStartBothResolveToPaths() throws Exception {
        String before = top + "/kubepods/burstable/pod" + UID_A + "/" + ID_A;
        String after = top + "/kubepods/burstable/pod" + UID_B + "/" + ID_B;
        Files.createDirectories(cgroup(before));
        try (ChildExporter exporter = start()) {
            callsIn(before, 11, 0, 0, 0);
            assertEquals(11, Http.scrape(exporter.port()).value("memfd_create_calls_by_cgroup_total",
                    labels(before, "containerd://" + ID_A, UID_A)));
            Files.createDirectories(cgroup(after)); // after a walk of the tree that did not see it
            callsIn(after, 13, 0, 0, 0);
            Exposition metrics = Http.scrape(exporter.port());
            assertEquals(11, metrics.value("memfd_create_calls_by_cgroup_total", labels(before, "containerd://" + ID_A, UID_A)));
            assertEquals(13, metrics.value("memfd_create_calls_by_cgroup_total", labels(after, "containerd://" + ID_B, UID_B)));
            assertEquals(0, metrics.value("memfd_create_calls_by_cgroup_total", labels("(unknown)", "", "")));
        }
    }

    @Test
    void fiveThousandCgroupsMadeUsedOnceAndRemovedLeaveNothingUnrecorded() throws Exception {
        try (ChildExporter exporter = start()) {
            double removedBefore = Http.scrape(exporter.port()).value(REMOVED, "family", CALLS_BY_CGROUP);
            Python.named("mfdchurn").run("""
                    import os, sys
                    top = sys.argv[1]
                    for i in range(5000):
                        d = f'{top}/churn-{i}'
                        os.mkdir(d)
                        with open(d + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
                        os.close(os.memfd_create('x'))
                        with open(top + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
                        os.rmdir(d)
                    """, cgroup(top).toString());
            Exposition metrics = exactScrape(exporter);
            assertEquals(0, metrics.value("memfd_create_unrecorded_total", "map", "calls_by_cgroup"),
                    "5,000 cgroups went through a map of 4,096: each removed one gave its slot back");
            assertEquals(5000, metrics.value(REMOVED, "family", CALLS_BY_CGROUP) - removedBefore,
                    "each removed cgroup's call moved to the removed total (another process's removed cgroups at the same"
                            + " moment would add to it)");
            assertEquals(0, seriesUnder(metrics, top + "/churn-"), "no series of a removed cgroup");
        }
    }

    /*
     * A thread calls memfd_create in a loop while the main thread moves the process into a new cgroup, out again
     * and removes the cgroup, 2,000 times: calls race with the removal of the cgroup they were attributed to.
     * Every call is counted exactly once: in the series of the cgroup it stayed in, or in the removed total.
     */
    @Test
    void callsRacingTheRemovalOfTheirCgroupAreNeitherLostNorCountedTwice() throws Exception {
        try (ChildExporter exporter = start()) {
            double removedBefore = Http.scrape(exporter.port()).value(REMOVED, "family", CALLS_BY_CGROUP);
            String out = Python.named("mfdrace").run("""
                    import os, sys, threading
                    top = sys.argv[1]
                    stop = threading.Event()
                    made = [0]
                    with open(top + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
                    def calls():
                        while not stop.is_set():
                            os.close(os.memfd_create('x'))
                            made[0] += 1
                    thread = threading.Thread(target=calls)
                    thread.start()
                    for i in range(2000):
                        d = f'{top}/race-{i}'
                        os.mkdir(d)
                        with open(d + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
                        with open(top + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
                        os.rmdir(d)
                    stop.set()
                    thread.join()
                    print(made[0])
                    """, cgroup(top).toString()).stdout();
            long made = Long.parseLong(out.strip());
            Exposition metrics = exactScrape(exporter);
            double counted = metrics.value(REMOVED, "family", CALLS_BY_CGROUP) - removedBefore
                    + seriesUnder(metrics, top) + seriesUnder(metrics, "(unknown)");
            assertTrue(made > 2000, "the calls overlapped the removals: " + made);
            assertEquals(made, counted, "calls made in the test's cgroups, found in their series or the removed total");
        }
    }

    private static final String REMOVED = "memfd_by_cgroup_removed_total";
    private static final String CALLS_BY_CGROUP = "memfd_create_calls_by_cgroup_total";

    /*
     * A scrape in which sum(calls by cgroup) + removed + unrecorded == observed. The maps are read one after another
     * while other processes on the host keep calling, so one scrape may be off by their calls; a count the probe
     * lost would be missing from every later scrape, so five tries that all fail mean a loss.
     */
    private static Exposition exactScrape(ChildExporter exporter) {
        Exposition metrics = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            metrics = Http.scrape(exporter.port());
            double accounted = metrics.sum(CALLS_BY_CGROUP) + metrics.value(REMOVED, "family", CALLS_BY_CGROUP)
                    + metrics.value("memfd_create_unrecorded_total", "map", "calls_by_cgroup");
            if (accounted == metrics.value("memfd_create_observed_calls_total")) {
                return metrics;
            }
        }
        throw new AssertionError("sum + removed + unrecorded != observed in 5 scrapes: " + metrics.family(CALLS_BY_CGROUP));
    }

    /* The sum of the calls_by_cgroup series whose cgroup is this path or starts with it. */
    private static double seriesUnder(Exposition metrics, String prefix) {
        return metrics.family(CALLS_BY_CGROUP).stream().filter(sample -> sample.labels().get("cgroup").startsWith(prefix))
                .mapToDouble(Exposition.Sample::value).sum();
    }

    private ChildExporter start() throws Exception {
        return ChildExporter.start(cgroups.wrapper(), "--web.listen-address=127.0.0.1:0", "--no-collector.live");
    }

    private Path cgroup(String path) {
        return cgroups.directory(path);
    }

    private void callsIn(String path, int calls, int fails, int maps, int execs) throws Exception {
        Python.named("mfdcg").run(CALLS_IN_CGROUP, cgroup(path).toString(), Integer.toString(calls), Integer.toString(fails),
                Integer.toString(maps), Integer.toString(execs));
    }

    private static String[] labels(String cgroup, String containerId, String podUid) {
        return List.of("cgroup", cgroup, "container_id", containerId, "pod_uid", podUid).toArray(String[]::new);
    }
}
