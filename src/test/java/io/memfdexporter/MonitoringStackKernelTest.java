package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.metrics.MetricFamily;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Dashboard;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MetricNames;
import io.memfdexporter.testing.MountNamespace;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.RuleFile;
import io.memfdexporter.testing.ServerProcess;
import io.memfdexporter.testing.TestLibC;
import io.memfdexporter.testing.Tool;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The shipped rules and dashboard against the real monitoring stack: the
 * exporter in this JVM, a real Prometheus (Debian's /usr/bin/prometheus)
 * scraping it every second and evaluating alerts/memfd_exporter.rules.yml, a
 * real Alertmanager routing to a webhook in this test. Real memfd activity
 * (memfd_create floods and failures, memfd executions of a program and of a
 * script, a huge ftruncate, memfd_secret calls, a held memfd, memfd code mapped
 * executable, a program running from a memfd) makes the alerts fire; they must reach
 * Prometheus's alerts and the webhook. The rules are the shipped file with
 * every {@code for:} set to 0s, nothing else changed. Prometheus scrapes as the
 * Prometheus Operator does with the shipped PodMonitor: the Operator's job name
 * {@code <namespace>/<name>}, then the PodMonitor's own relabelings (read from
 * deploy/kubernetes/podmonitor.yaml), each exporter standing for a node. Then the
 * main exporter's target is removed and restored (a scrape gap with staleness
 * markers, as a pod deletion or a Prometheus reload makes): MemfdExporterDown
 * fires for it, and the hourly event counts do not re-count across the gap.
 */
@ExtendWith(RequiresBpf.class)
class MonitoringStackKernelTest {
    private static final String JOB = "memfd_exporter";
    /** The PodMonitor's namespace, and the nodes the two exporters stand for (their instance label). */
    private static final String MONITORING_NAMESPACE = "monitoring";
    private static final String NODE = "node-main";
    private static final String TINY_NODE = "node-tiny";
    private static final Path POD_MONITOR = Path.of("deploy", "kubernetes", "podmonitor.yaml");
    /** $__rate_interval as Grafana computes it for a 1 s scrape interval: at least four scrapes. */
    private static final String RATE_INTERVAL = "4s";
    private static final Duration ALERTS_TIMEOUT = Duration.ofSeconds(90);
    /** The activities run on threads of their own (the common pool may have a single thread). */
    private static final Executor NEW_THREAD = task -> new Thread(task, "monitoring-activity").start();
    /**
     * Per-comm map capacity of the exporter under test. Other tests on this host may create
     * thousands of distinct comms while this one runs; this test's comms take their keys within
     * milliseconds of the start, and the room left keeps that true however busy the host is. The
     * same number of comm series, so that none of this test's comms (the top-10 rotation's come
     * late) is folded into (other) behind other tests' comms.
     */
    private static final int MAX_COMMS = 65536;
    /** memfd_create calls per 100 ms by the flood thread: 20,000 a second, 5 times the burst threshold. */
    private static final int FLOOD_CALLS_PER_TICK = 2000;
    /** Above MemfdHugeSizeRequested's default bound of 4 GiB; ftruncate leaves the memfd sparse, so it costs nothing. */
    private static final long HUGE_REQUEST_BYTES = 8L << 30;
    /** Allocated to the held memfd: above MemfdLiveMemoryHigh's default threshold of 1 GiB. */
    private static final long HELD_BYTES = (1L << 30) + (64L << 20);
    /** memfd_secret(2) flags no kernel defines: the call fails with EINVAL. */
    private static final int UNDEFINED_SECRET_FLAGS = 0xff;
    /** The live scans of the exporter under test: the default 15 s would make the test wait for them. */
    private static final Duration LIVE_INTERVAL = Duration.ofSeconds(1);
    /** Python: until_stop(tick) calls tick every 100 ms until the file named STOP exists (50 s at most). */
    private static final String UNTIL_STOP = """
            import os, time
            def until_stop(tick=lambda: None):
                deadline = time.monotonic() + 50
                while not os.path.exists(STOP) and time.monotonic() < deadline:
                    tick()
                    time.sleep(0.1)
            """;
    /** Fails memfd_create with EMFILE 500 times a second until stopped. */
    private static final String EMFILE_SCRIPT = """
            import errno, resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
            held = []
            def fails_with_emfile():
                try:
                    held.append(os.memfd_create('x'))
                    return False
                except OSError as e:
                    if e.errno != errno.EMFILE: raise
                    return True
            while not fails_with_emfile(): pass
            def fail_50_times():
                for _ in range(50):
                    if not fails_with_emfile(): raise SystemExit('memfd_create succeeded beyond RLIMIT_NOFILE')
            until_stop(fail_50_times)
            """;
    /** Holds a memfd with HELD_BYTES allocated (fallocate: pages in RAM) until stopped. */
    private static final String HOLD_SCRIPT = """
            fd = os.memfd_create('held')
            os.posix_fallocate(fd, 0, HELD_BYTES)
            until_stop()
            """;
    /** Executes /bin/true (exit 0) from a memfd named NAME; python exits 1 if the exec fails. */
    private static final String EXEC_SCRIPT = """
            import os
            fd = os.memfd_create(NAME)
            os.write(fd, open('/bin/true', 'rb').read())
            os.execve(fd, ['true'], {})
            """;

    /** Maps a memfd PROT_READ|PROT_EXEC (and never writable) until stopped: code loaded without exec. */
    private static final String MAP_EXEC_SCRIPT = """
            import mmap
            fd = os.memfd_create('code')
            os.write(fd, b'\\xc3' * mmap.PAGESIZE)
            code = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_EXEC)
            until_stop()
            """;
    /** Executes a #! script from a memfd: the kernel runs /bin/sh /dev/fd/N (the fd must survive exec). */
    private static final String SCRIPT_EXEC_SCRIPT = """
            import os
            fd = os.memfd_create('script', 0)
            os.write(fd, b'#!/bin/sh\\nexit 0\\n')
            os.execve(fd, ['script'], {})
            """;

    /**
     * Re-executes python3 from a memfd copy of itself; the program now running from the memfd names
     * itself COMM (so its live series are this test's) and runs until stopped.
     */
    private static String residentScript(String comm, Path stop) {
        String child = "STOP = '" + stop + "'\n" + UNTIL_STOP
                + "import ctypes\nctypes.CDLL(None).prctl(15, b'" + comm + "', 0, 0, 0)\nuntil_stop()\n";
        return "import os, sys\n"
                + "CHILD = '''" + child + "'''\n"
                + "fd = os.memfd_create('resident')\n"
                + "os.write(fd, open(sys.executable, 'rb').read())\n"
                + "os.execve(fd, ['python3', '-c', CHILD], dict(os.environ))\n";
    }

    /** kube-state-metrics' names of the pod whose container cgroup this test makes, containerd and systemd driver style. */
    private static final String NAMESPACE = "mfd-e2e";
    private static final String POD = "payload-7d9f";
    private static final String CONTAINER = "worker";
    private static final String CONTAINER_HEX = "9e7c1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a6978877665544332211a0b0c0d0e0f";
    private static final String POD_UID = "2f6b8c1e-3d4a-4b5c-9d6e-7f8091a2b3c4";
    /** The pod's sandbox: a container of the pod that kube-state-metrics does not list; its last call executes a memfd. */
    private static final String SANDBOX_HEX = "5a5b5c5d5e5f50515253545556575859a0a1a2a3a4a5a6a7a8a9b0b1b2b3b4b5";
    private static final int SANDBOX_CALLS = 5;
    /** memfd_create calls the container's process makes (the last memfd it keeps), and the bytes it allocates to it. */
    private static final int CONTAINER_CALLS = 37;
    private static final long CONTAINER_HELD_BYTES = 1L << 20;
    /**
     * Moves itself into the cgroup directory argv[1] and makes CALLS calls, holding the last memfd until stopped:
     * one at once (its series starts), the others once the file argv[2] exists (Prometheus has scraped the
     * series, so that its rate is above 0).
     */
    private static final String CONTAINER_SCRIPT = """
            import sys
            with open(sys.argv[1] + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))
            os.close(os.memfd_create('x'))
            while not os.path.exists(sys.argv[2]) and not os.path.exists(STOP): time.sleep(0.1)
            for _ in range(CALLS - 2): os.close(os.memfd_create('x'))
            fd = os.memfd_create('held')
            os.posix_fallocate(fd, 0, HELD_BYTES)
            until_stop()
            """;
    /**
     * Names its thread after each argument in turn and makes memfd_create calls under it for a second, more
     * under each later name: a top 10 chosen at every step changes as the later names overtake the earlier.
     * Up to 2,400 calls under the last name (8/s over 5 minutes), below MemfdCreateFlood's 100/s.
     */
    private static final String ROTATE_SCRIPT = """
            import ctypes, os, sys, time
            libc = ctypes.CDLL(None)
            for i, name in enumerate(sys.argv[1:]):
                libc.prctl(15, name.encode(), 0, 0, 0)
                for _ in range(10):
                    for _ in range(20 * (i + 1)): os.close(os.memfd_create('x'))
                    time.sleep(0.1)
            """;
    /** Comms the rotation goes through: more than the dashboard's top 10. */
    private static final int ROTATED_COMMS = 12;
    /** $__range for the instant queries: longer than this test. */
    private static final String RANGE = "15m";

    /** An alert this test makes fire, identified by labels only this test's activity carries. */
    private record Expected(String alertname, Map<String, String> labels) {
        boolean matches(JsonObject alertLabels) {
            return alertname.equals(alertLabels.getString("alertname"))
                    && labels.entrySet().stream().allMatch(label -> label.getValue().equals(alertLabels.getString(label.getKey())));
        }
    }

    @Test
    void shippedAlertsFireThroughAlertmanagerAndEveryMetricAndPanelQueryHasData(@TempDir Path work) throws Exception {
        long start = System.nanoTime();
        List<String> timings = new ArrayList<>();
        String floodComm = uniqueComm("mfdflood");
        String emfileComm = uniqueComm("mfdemfile");
        String filelessComm = uniqueComm("mfdfless");
        String runcComm = uniqueComm("mfdrunc");
        String spoofComm = uniqueComm("mfdspoof");
        String hugeComm = uniqueComm("mfdhuge");
        String secretComm = uniqueComm("mfdsecret");
        String secretFailComm = uniqueComm("mfdsecfail");
        String holderComm = uniqueComm("mfdholder");
        String mapperComm = uniqueComm("mfdmapper");
        String residentComm = uniqueComm("mfdresid");
        String scriptComm = uniqueComm("mfdscript");
        String containerId = "containerd://" + CONTAINER_HEX;
        List<String> rotated = new ArrayList<>();
        for (int i = 0; i < ROTATED_COMMS; i++) {
            rotated.add(uniqueComm("mfdtop").substring(0, 13) + String.format("%02d", i));
        }
        Path stop = work.resolve("stop-activity");
        Path containerGo = work.resolve("container-go");
        List<CompletableFuture<Void>> activities = new ArrayList<>();
        // The container: a cgroup shaped as containerd and the systemd driver make them, under a directory of this
        // test's, made through a cgroup2 mount of a private mount namespace (whatever the runner mounts).
        String top = "/mfde2e-" + ProcessHandle.current().pid();
        String containerCgroup = top + "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                + POD_UID.replace('-', '_') + ".slice/cri-containerd-" + CONTAINER_HEX + ".scope";
        MountNamespace cgroups = MountNamespace.withOwnCgroup2();
        Path cgroupRoot = cgroups.path(MountNamespace.CGROUP2);
        String sandboxCgroup = containerCgroup.replace(CONTAINER_HEX, SANDBOX_HEX);
        Files.createDirectories(cgroupRoot.resolve(containerCgroup.substring(1)));
        Files.createDirectories(cgroupRoot.resolve(sandboxCgroup.substring(1)));
        // A second exporter whose per-comm maps hold one comm: every other comm's events are unrecorded.
        // Both name cgroups from that mount: this JVM may see no cgroup2 mount at all (a container on a hybrid host).
        Exporter tiny = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)).withMaxComms(1)
                .withCgroupMount(cgroupRoot));
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0))
                .withMaxComms(MAX_COMMS).withMaxCommSeries(MAX_COMMS).withLiveInterval(LIVE_INTERVAL).withCgroupMount(cgroupRoot));
             Webhook webhook = Webhook.start();
             StaticExposition kubeStateMetrics = StaticExposition.start(kubePodSeries(containerId))) {
            // The PodMonitor names each target after its node.
            String instance = NODE;
            String tinyInstance = TINY_NODE;
            ScrapeTargets targets = new ScrapeTargets(Map.of(NODE, exporter.port(), TINY_NODE, tiny.port()),
                    kubeStateMetrics.port());
            // The lasting activity, started before Prometheus so that its comms are in the maps at once: a
            // flood from one thread (MemfdCreateFlood; MemfdCreateBurst, this JVM being the process), EMFILE
            // failures from python3, and python3 holding a memfd with more than 1 GiB allocated.
            activities.add(CompletableFuture.runAsync(() -> CommThreads.runAs(floodComm, () -> floodUntil(stop)), NEW_THREAD));
            activities.add(CompletableFuture.runAsync(() -> runPythonUntilStop(emfileComm, stop, EMFILE_SCRIPT), NEW_THREAD));
            activities.add(CompletableFuture.runAsync(() -> runPythonUntilStop(holderComm, stop,
                    "HELD_BYTES = " + HELD_BYTES + "\n" + HOLD_SCRIPT), NEW_THREAD));
            // Code from memfds that stays: python3 mapping a memfd executable, and python3 running from one.
            activities.add(CompletableFuture.runAsync(() -> runPythonUntilStop(mapperComm, stop, MAP_EXEC_SCRIPT), NEW_THREAD));
            activities.add(CompletableFuture.runAsync(() -> runPython(residentComm, residentScript(residentComm, stop)), NEW_THREAD));
            activities.add(CompletableFuture.runAsync(() -> runPythonUntilStop("mfdworker", stop, "CALLS = " + CONTAINER_CALLS
                    + "\nHELD_BYTES = " + CONTAINER_HELD_BYTES + "\n" + CONTAINER_SCRIPT,
                    cgroupRoot.resolve(containerCgroup.substring(1)).toString(), containerGo.toString()), NEW_THREAD));
            List<Expected> expected = List.of(
                    new Expected("MemfdCreateFlood", Map.of("instance", instance, "comm", floodComm)),
                    new Expected("MemfdCreateBurst", Map.of("instance", instance)),
                    new Expected("MemfdCreateFailures", Map.of("instance", instance, "comm", emfileComm, "errno", "EMFILE")),
                    new Expected("MemfdFilelessExecution", Map.of("instance", instance, "comm", filelessComm,
                            "memfd_name_kind", "other")),
                    new Expected("MemfdFilelessExecution", Map.of("instance", instance, "comm", spoofComm,
                            "memfd_name_kind", "other")),
                    new Expected("MemfdFilelessExecution", Map.of("instance", instance, "comm", scriptComm,
                            "via", "interpreter")),
                    new Expected("MemfdExecutableMapping", Map.of("instance", instance, "comm", mapperComm,
                            "kind", "plain", "severity", "critical")),
                    new Expected("MemfdLiveExecutableCode", Map.of("instance", instance, "comm", mapperComm,
                            "kind", "mapped", "severity", "warning")),
                    new Expected("MemfdLiveExecutableCode", Map.of("instance", instance, "comm", residentComm,
                            "kind", "exe", "severity", "critical")),
                    new Expected("MemfdHugeSizeRequested", Map.of("instance", instance)),
                    new Expected("MemfdLiveMemoryHigh", Map.of("instance", instance, "comm", holderComm)),
                    new Expected("MemfdSecretUsed", Map.of("instance", instance, "comm", secretComm)),
                    new Expected("MemfdSecretUsed", Map.of("instance", instance, "comm", secretFailComm)),
                    new Expected("MemfdCreateUnrecorded", Map.of("instance", tinyInstance, "map", "calls_by_comm")),
                    new Expected("MemfdCreateUnrecorded", Map.of("instance", tinyInstance, "map", "execs_by_comm")),
                    new Expected("MemfdCreateUnrecorded", Map.of("instance", tinyInstance, "map", "requested_bytes_by_comm")),
                    new Expected("MemfdCreateUnrecorded", Map.of("instance", tinyInstance, "map", "secret_calls_by_comm")));

            try (ServerProcess alertmanager = startAlertmanager(work, webhook.port());
                 ServerProcess prometheus = startPrometheus(work, alertmanager.port(), targets)) {
                Prometheus api = new Prometheus(prometheus.port());
                Supplier<String> logs = () -> prometheus.logTail() + "\n" + alertmanager.logTail();
                timings.add(lap(start, "Prometheus and Alertmanager ready"));
                for (String target : List.of(instance, tinyInstance)) {
                    waitFor(Duration.ofSeconds(30), () -> !api.query("up{job=\"" + JOB + "\",instance=\"" + target + "\"} == 1").isEmpty(),
                            () -> target + " is not up in Prometheus\n" + logs.get());
                }
                timings.add(lap(start, "both targets up"));
                Files.createFile(containerGo);
                Python.named("mfdsandbox").run("import os, sys\n"
                        + "with open(sys.argv[1] + '/cgroup.procs', 'w') as procs: procs.write(str(os.getpid()))\n"
                        + "for _ in range(" + (SANDBOX_CALLS - 1) + "): os.close(os.memfd_create('x'))\n"
                        + "NAME = 'sandboxed'\n" + EXEC_SCRIPT, cgroupRoot.resolve(sandboxCgroup.substring(1)).toString());

                // The one-off events, once Prometheus has scraped the counters they raise at 0 (increase()
                // sees no event made before a counter's first sample): a memfd execution, runc's (which must
                // not alert), an 8 GiB ftruncate, memfd_secret calls (one failing). Two comms make each
                // kind of event, and the holder resized too, so the tiny exporter leaves some of each
                // unrecorded.
                runPython(filelessComm, "NAME = 'payload'\n" + EXEC_SCRIPT);
                // runc's re-exec: root running a root-owned executable named runc (bpf/exec.bpf.c wants that
                // evidence); and python3 choosing runc's memfd name, which must alert like any other.
                Python.named(runcComm).executing(Python.copyOfInterpreter(work.resolve("runc"), 0, "rwxr-xr-x"))
                        .run("NAME = 'runc_cloned:/proc/self/exe'\n" + EXEC_SCRIPT);
                runPython(spoofComm, "NAME = 'runc_cloned:/proc/self/exe'\n" + EXEC_SCRIPT);
                runPython(scriptComm, SCRIPT_EXEC_SCRIPT);
                long rotationStart = System.currentTimeMillis() / 1000;
                Python.named(rotated.get(0)).run(ROTATE_SCRIPT, rotated.toArray(String[]::new));
                CommThreads.runAllAs(List.of(new CommThreads.Task(hugeComm, MonitoringStackKernelTest::requestHugeMemfd),
                        new CommThreads.Task(secretComm, () -> memfdSecret(TestLibC.O_CLOEXEC)),
                        new CommThreads.Task(secretFailComm, () -> memfdSecret(UNDEFINED_SECRET_FLAGS))));

                waitForAlerts(api, webhook, expected, logs);
                timings.add(lap(start, expected.size() + " alerts at the webhook"));
                assertRuncsReExecutionDoesNotAlert(api, instance, runcComm);
                assertTrue(api.rules().stream().allMatch(rule -> "ok".equals(rule.getString("health"))),
                        "every rule evaluates without error: " + api.rules());
                assertEveryMetricFamilyIsInPrometheus(api, instance);
                Map<String, String> variables = Map.of("job", JOB, "instance", instance, "__rate_interval", RATE_INTERVAL,
                        "__range", RANGE, "namespace", NAMESPACE, "pod", POD, "container", CONTAINER, "cgroup", ".*");
                assertEveryDashboardQueryReturnsData(api, variables, containerCgroup);
                assertTheDrillDownNamesTheContainer(api, variables, containerId, containerCgroup);
                assertTheSandboxIsNamedByItsPod(api, variables, sandboxCgroup);
                assertTopkGraphsDrawAtMostTheirN(api, variables, rotationStart, rotated);
                timings.add(lap(start, "metric families and dashboard queries checked"));

                assertAScrapeGapReCountsNoEvents(api, work, alertmanager.port(), targets, instance, filelessComm, webhook, logs);
                timings.add(lap(start, "scrape gap: target vanished, restored, nothing re-counted"));

                Files.createFile(stop);
                for (CompletableFuture<Void> activity : activities) {
                    activity.get(60, TimeUnit.SECONDS);
                }
                tiny.close();
                tiny = null;
                waitForAlerts(api, webhook, List.of(new Expected("MemfdExporterDown", Map.of("instance", tinyInstance))), logs);
                timings.add(lap(start, "down alert at the webhook once the tiny exporter stopped"));
                assertTargetsPanelCountsTheDownTarget(api);
            }
        } finally {
            if (!Files.exists(stop)) {
                Files.createFile(stop);
            }
            if (tiny != null) {
                tiny.close();
            }
            for (CompletableFuture<Void> activity : activities) {
                activity.exceptionally(failure -> null).get(60, TimeUnit.SECONDS);
            }
            // Children first; each is empty: the container's process exited with the activities.
            try (java.util.stream.Stream<Path> dirs = Files.walk(cgroupRoot.resolve(top.substring(1)))) {
                for (Path dir : dirs.filter(Files::isDirectory).sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(dir);
                }
            } finally {
                cgroups.close();
            }
            System.out.println("MonitoringStackKernelTest timings (s since start): " + String.join("; ", timings)
                    + "; total " + seconds(start));
        }
    }

    /**
     * The main exporter's target removed from the configuration and restored, as a pod deletion or
     * a restart over pinned maps does: Prometheus writes staleness markers for its series, and
     * MemfdExporterDown fires for the vanished target. Then the hourly event count, evaluated with
     * its hour shortened so that "an hour ago" falls in the gap, counts no execution for a comm
     * whose only one was before the gap, where the former {@code x unless x offset 1h} counts it
     * again (which proves the gap is there).
     */
    private static void assertAScrapeGapReCountsNoEvents(Prometheus api, Path work, int alertmanagerPort,
            ScrapeTargets targets, String instance, String comm, Webhook webhook, Supplier<String> logs)
            throws IOException, InterruptedException {
        // The rule's selector, and the same narrowed to the comm.
        String selector = "memfd_exec_total{job=\"" + JOB + "\"}";
        String series = "memfd_exec_total{job=\"" + JOB + "\",instance=\"" + instance + "\",comm=\"" + comm + "\"}";
        assertEquals(List.of("1"), api.values(series), "one execution by " + comm + " before the gap");
        writePrometheusConfig(work, alertmanagerPort, targets.without(instance));
        api.reload();
        double gapStart = System.currentTimeMillis() / 1000.0;
        waitForAlerts(api, webhook, List.of(new Expected("MemfdExporterDown", Map.of("instance", instance, "reason", "vanished"))), logs);
        Thread.sleep(3000);
        writePrometheusConfig(work, alertmanagerPort, targets);
        api.reload();
        waitFor(Duration.ofSeconds(30), () -> !api.query("up{job=\"" + JOB + "\",instance=\"" + instance + "\"} == 1").isEmpty(),
                () -> instance + " is not scraped again\n" + logs.get());
        double gapEnd = System.currentTimeMillis() / 1000.0;
        Thread.sleep(2000);
        double now = System.currentTimeMillis() / 1000.0;
        long hour = Math.round(now - (gapStart + gapEnd) / 2);
        String lastHour = RuleFile.read(RuleFile.SHIPPED).recordings().stream()
                .filter(recording -> recording.name().equals("instance_comm_memfd_name_kind:memfd_exec:increase1h"))
                .findFirst().orElseThrow().expr().replace(selector, series).replace("offset 1h", "offset " + hour + "s");
        String former = "(" + series + " unless " + series + " offset " + hour + "s) or increase(" + series + "[" + hour + "s])";
        assertEquals(List.of("1"), api.values(former, now), "the former rule re-counts across the gap: " + former);
        assertEquals(List.of("0"), api.values(lastHour, now), lastHour);
        assertTrue(api.rules().stream().allMatch(rule -> "ok".equals(rule.getString("health"))),
                "every rule evaluates without error after the gap: " + api.rules());
    }

    /** runc's execution of its cloned binary was counted, and yet MemfdFilelessExecution stays silent for it. */
    private static void assertRuncsReExecutionDoesNotAlert(Prometheus api, String instance, String runcComm) {
        String execs = "instance_comm_memfd_name_kind:memfd_exec:increase1h{instance=\"" + instance + "\",comm=\""
                + runcComm + "\",memfd_name_kind=\"runc\"} > 0";
        assertEquals(1, api.query(execs).size(), execs);
        assertTrue(api.firingAlerts().stream().noneMatch(alert -> runcComm.equals(alert.getString("comm"))),
                "no alert for runc's re-execution: " + api.firingAlerts());
    }

    /** Families that appear only after some activity (per-comm, failures) appear after this test's. */
    private static void assertEveryMetricFamilyIsInPrometheus(Prometheus api, String instance) {
        Set<String> present = new TreeSet<>();
        api.query("group by (__name__) ({job=\"" + JOB + "\",instance=\"" + instance + "\"})")
                .forEach(sample -> present.add(((JsonObject) sample).getJsonObject("metric").getString("__name__")));
        for (MetricFamily family : MetricFamily.values()) {
            for (String name : MetricNames.of(family)) {
                assertTrue(present.contains(name), name + " is not in Prometheus; there: " + present);
            }
        }
    }

    /** Every panel's every query, and the variables' label_values queries, as Grafana would send them. */
    private static void assertEveryDashboardQueryReturnsData(Prometheus api, Map<String, String> variables,
                                                             String containerCgroup) throws IOException {
        Dashboard dashboard = Dashboard.read(Dashboard.SHIPPED);
        List<String> empty = new ArrayList<>();
        for (Dashboard.Query query : dashboard.queries()) {
            String expr = query.substitute(variables);
            if (api.query(expr).isEmpty()) {
                empty.add(query.panel() + " " + query.refId() + ": " + expr);
            }
        }
        assertTrue(empty.isEmpty(), "dashboard queries without data:\n" + String.join("\n", empty));

        Pattern labelValues = Pattern.compile("label_values\\((.+), *(\\w+)\\)");
        Map<String, String> offered = new java.util.HashMap<>(variables);
        offered.put("cgroup", containerCgroup);
        for (String name : List.of("job", "instance", "namespace", "pod", "container", "cgroup")) {
            Matcher definition = labelValues.matcher(dashboard.variable(name).getString("definition"));
            assertTrue(definition.matches(), name);
            List<String> values = api.labelValues(definition.group(2), Dashboard.substitute(definition.group(1), variables));
            assertTrue(values.contains(offered.get(name)), "variable " + name + " offers " + offered.get(name) + ": " + values);
        }
    }

    /**
     * The containers table names the container's calls, memory and first appearance by kube-state-metrics'
     * namespace, pod and container, although two pending containers (container_id="") are in
     * kube_pod_container_info; without kube-state-metrics' names the same rows keep their cgroup path.
     */
    private static void assertTheDrillDownNamesTheContainer(Prometheus api, Map<String, String> variables,
                                                            String containerId, String containerCgroup)
            throws IOException, InterruptedException {
        String instance = variables.get("instance");
        String calls = "memfd_create_calls_by_cgroup_total{instance=\"" + instance + "\",container_id=\"" + containerId
                + "\",pod_uid=\"" + POD_UID + "\",cgroup=\"" + containerCgroup + "\"}";
        waitFor(Duration.ofSeconds(30), () -> api.query(calls + " == " + CONTAINER_CALLS).size() == 1,
                () -> calls + ": " + api.query(calls));
        Map<String, String> names = Map.of("instance", instance, "namespace", NAMESPACE, "pod", POD, "container", CONTAINER);
        List<Dashboard.Query> table = Dashboard.read(Dashboard.SHIPPED).queries().stream()
                .filter(query -> query.panel().equals("Who is doing it: containers and cgroups")).toList();
        assertEquals(3, table.size());
        Sample rate = single(api.query(table.get(0).substitute(variables)), names);
        assertTrue(rate.value() > 0, "calls/s " + rate);
        assertEquals(CONTAINER_HELD_BYTES, single(api.query(table.get(1).substitute(variables)), names).value(), "live bytes");
        double firstSeen = single(api.query(table.get(2).substitute(variables)), names).value();
        assertTrue(firstSeen > System.currentTimeMillis() - 300_000 && firstSeen <= System.currentTimeMillis(),
                "first seen (ms) within this test: " + firstSeen);
        // The pod narrowed to one that is not this one: the container's row goes, the other cgroups stay by path.
        Map<String, String> otherPod = new java.util.HashMap<>(variables);
        otherPod.put("pod", "pending-1");
        JsonArray narrowed = api.query(table.get(0).substitute(otherPod));
        assertTrue(narrowed.stream().map(JsonObject.class::cast).noneMatch(series -> series.getJsonObject("metric").containsKey("pod")),
                "no row names a pod: " + narrowed);
        assertTrue(narrowed.stream().map(JsonObject.class::cast).noneMatch(series ->
                containerCgroup.equals(series.getJsonObject("metric").getString("cgroup"))), "nor is the container by path: " + narrowed);
        assertFalse(narrowed.isEmpty(), "the cgroups kube-state-metrics does not name stay");
        // Why every join has container_id!="" on both sides: the cgroups that name no container sum to
        // container_id="", which matches both pending containers, and the whole query fails.
        String unfiltered = "sum by (container_id) (rate(memfd_create_calls_by_cgroup_total[5m])) * on (container_id)"
                + " group_left (namespace, pod, container) max by (container_id, namespace, pod, container) (kube_pod_container_info)";
        String error = api.queryError(unfiltered);
        assertTrue(error.contains("duplicate series"), unfiltered + ": " + error);
    }

    /**
     * The sandbox's cgroup names a container kube-state-metrics does not list, in a pod it does: its row has
     * the pod's namespace and name (joined on pod_uid), no container, and not its path.
     */
    private static void assertTheSandboxIsNamedByItsPod(Prometheus api, Map<String, String> variables, String sandboxCgroup)
            throws IOException {
        String calls = "memfd_create_calls_by_cgroup_total{instance=\"" + variables.get("instance") + "\",container_id=\"containerd://"
                + SANDBOX_HEX + "\",pod_uid=\"" + POD_UID + "\",cgroup=\"" + sandboxCgroup + "\"}";
        assertEquals(SANDBOX_CALLS, single(api.query(calls), calls).value(), calls);
        List<Dashboard.Query> table = Dashboard.read(Dashboard.SHIPPED).queries().stream()
                .filter(query -> query.panel().equals("Who is doing it: containers and cgroups")).toList();
        for (Dashboard.Query column : List.of(table.get(0), table.get(2))) {
            JsonArray result = api.query(column.substitute(variables));
            List<JsonObject> podRows = result.stream().map(JsonObject.class::cast).map(series -> series.getJsonObject("metric"))
                    .filter(metric -> POD.equals(metric.getString("pod")) && !metric.containsKey("container")).toList();
            assertEquals(List.of(new JsonObject().put("instance", variables.get("instance")).put("namespace", NAMESPACE).put("pod", POD)),
                    podRows, column.refId() + ": " + result);
            assertTrue(result.stream().map(JsonObject.class::cast).noneMatch(series ->
                    sandboxCgroup.equals(series.getJsonObject("metric").getString("cgroup"))), "not by path: " + result);
        }
        Dashboard.Query executions = Dashboard.read(Dashboard.SHIPPED).queries().stream()
                .filter(query -> query.panel().equals("memfd code by container or cgroup")).findFirst().orElseThrow();
        JsonArray result = api.query(executions.substitute(variables));
        List<Double> podExecutions = result.stream().map(JsonObject.class::cast)
                .filter(series -> POD.equals(series.getJsonObject("metric").getString("pod")))
                .map(series -> Double.parseDouble(series.getJsonArray("value").getString(1))).toList();
        assertEquals(List.of(1.0), podExecutions, "the sandbox's one memfd execution, under its pod: " + result);
    }

    /**
     * Each top-10 graph, as the range query Grafana sends over this test's time, draws at most 10 series,
     * where topk(10, ...) alone over the rotation's 12 comms draws more: the later ones overtake the earlier.
     */
    private static void assertTopkGraphsDrawAtMostTheirN(Prometheus api, Map<String, String> variables, long from,
                                                         List<String> rotated) throws IOException {
        long to = System.currentTimeMillis() / 1000;
        Map<String, String> range = new java.util.HashMap<>(variables);
        range.put("__range", (to - from) + "s");
        // Over the rotation's comms only: other activity on the host cannot fill this top 10 by itself.
        String perStep = "topk(10, sum by (instance, comm) (instance_comm:memfd_create_calls:rate5m{job=\"" + JOB
                + "\", instance=\"" + variables.get("instance") + "\", comm=~\"" + String.join("|", rotated) + "\"}))";
        JsonArray perStepResult = api.queryRange(perStep, from, to);
        int perStepSeries = perStepResult.size();
        assertTrue(perStepSeries > 10, "topk alone, chosen at every step, draws more than 10: " + perStepResult.stream()
                .map(series -> ((JsonObject) series).getJsonObject("metric").getString("comm")).toList());
        int graphs = 0;
        for (Dashboard.Query query : Dashboard.read(Dashboard.SHIPPED).queries()) {
            if (query.expr().contains("topk(10,")) {
                JsonArray series = api.queryRange(query.substitute(range), from, to);
                assertTrue(series.size() <= 10, query.panel() + " draws " + series.size() + " series");
                graphs++;
            }
        }
        assertEquals(9, graphs);
        JsonArray byComm = api.queryRange(Dashboard.read(Dashboard.SHIPPED).queries().stream()
                .filter(query -> query.panel().equals("Calls/s by comm (top 10)")).findFirst().orElseThrow().substitute(range), from, to);
        assertEquals(10, byComm.size(), "a full top 10: " + byComm);
        System.out.println("MonitoringStackKernelTest: topk(10) chosen per step drew " + perStepSeries
                + " series over the rotation, the dashboard's " + byComm.size());
    }

    /** Once the tiny exporter is down: up 1, total 2, down 1 (red). */
    private static void assertTargetsPanelCountsTheDownTarget(Prometheus api) throws IOException {
        Dashboard.Query[] targets = Dashboard.read(Dashboard.SHIPPED).queries().stream()
                .filter(query -> query.panel().equals("Targets up / total")).toArray(Dashboard.Query[]::new);
        Map<String, String> all = Map.of("job", JOB, "instance", ".+");
        assertEquals(3, targets.length);
        double[] expected = {1, 2, 1};
        for (int i = 0; i < targets.length; i++) {
            String expr = targets[i].substitute(all);
            assertEquals(expected[i], single(api.query(expr), expr).value(), expr);
        }
    }

    /** One sample of a query's result. */
    private record Sample(JsonObject metric, double value) {
    }

    /** The one series of a result whose labels include the given ones. */
    private static Sample single(JsonArray result, Map<String, String> labels) {
        List<JsonObject> matching = result.stream().map(JsonObject.class::cast)
                .filter(series -> labels.entrySet().stream().allMatch(label ->
                        label.getValue().equals(series.getJsonObject("metric").getString(label.getKey()))))
                .toList();
        assertEquals(1, matching.size(), "one series with " + labels + " in " + result);
        return new Sample(matching.get(0).getJsonObject("metric"),
                Double.parseDouble(matching.get(0).getJsonArray("value").getString(1)));
    }

    private static Sample single(JsonArray result, String query) {
        assertEquals(1, result.size(), query + ": " + result);
        return single(result, Map.of());
    }

    /** kube-state-metrics' series of the pod: its running container, and two pending pods' (container_id=""). */
    private static String kubePodSeries(String containerId) {
        return """
                # TYPE kube_pod_container_info gauge
                kube_pod_container_info{namespace="%1$s",pod="%2$s",uid="%4$s",container="%3$s",image="registry.example/payload:1",container_id="%5$s"} 1
                kube_pod_container_info{namespace="%1$s",pod="pending-1",uid="11111111-2222-4333-8444-555555555555",container="%3$s",image="registry.example/payload:1",container_id=""} 1
                kube_pod_container_info{namespace="%1$s",pod="pending-2",uid="66666666-7777-4888-9999-000000000000",container="%3$s",image="registry.example/payload:1",container_id=""} 1
                # TYPE kube_pod_info gauge
                kube_pod_info{namespace="%1$s",pod="%2$s",uid="%4$s",node="node-1"} 1
                """.formatted(NAMESPACE, POD, CONTAINER, POD_UID, containerId);
    }

    private static void waitForAlerts(Prometheus api, Webhook webhook, List<Expected> expected, Supplier<String> logs)
            throws InterruptedException {
        waitFor(ALERTS_TIMEOUT, () -> expected.stream().allMatch(alert ->
                        api.firingAlerts().stream().anyMatch(alert::matches) && webhook.received(alert)),
                () -> "expected " + expected + "\nfiring in Prometheus: " + api.firingAlerts()
                        + "\nat the webhook: " + webhook.alerts + "\n" + logs.get());
    }

    private static void waitFor(Duration timeout, BooleanSupplier condition, Supplier<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + failure.get());
            }
            Thread.sleep(250);
        }
    }

    private static void floodUntil(Path stop) {
        long tick = TimeUnit.MILLISECONDS.toNanos(100);
        long next = System.nanoTime();
        while (!Files.exists(stop)) {
            CommThreads.calls(FLOOD_CALLS_PER_TICK, TestLibC.MFD_CLOEXEC).run();
            next += tick;
            LockSupport.parkNanos(next - System.nanoTime());
        }
    }

    /** ftruncate of a memfd to HUGE_REQUEST_BYTES. */
    private static void requestHugeMemfd() {
        int fd = TestLibC.memfd("huge", TestLibC.MFD_CLOEXEC);
        try {
            TestLibC.check(TestLibC.INSTANCE.ftruncate(fd, HUGE_REQUEST_BYTES), "ftruncate");
        } finally {
            TestLibC.INSTANCE.close(fd);
        }
    }

    /**
     * memfd_secret(2), closing the fd it returns. Counted as a call whether it succeeds or fails, and as
     * a failure with undefined flags (EINVAL) or with secretmem disabled at boot (ENOSYS).
     */
    private static void memfdSecret(int flags) {
        long fd = TestLibC.INSTANCE.syscall(TestLibC.SYS_MEMFD_SECRET, flags);
        if (fd >= 0) {
            TestLibC.INSTANCE.close((int) fd);
        }
    }

    /** A script that defines and calls until_stop (UNTIL_STOP), with STOP set to the file that ends it. */
    private static void runPythonUntilStop(String comm, Path stop, String script, String... args) {
        runPython(comm, "STOP = '" + stop + "'\n" + UNTIL_STOP + script, args);
    }

    private static void runPython(String comm, String script, String... args) {
        try {
            Python.named(comm).run(script, args);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static ServerProcess startAlertmanager(Path work, int webhookPort) throws IOException, InterruptedException {
        int port = ServerProcess.freePort();
        Path config = Files.writeString(work.resolve("alertmanager.yml"), """
                route:
                  receiver: webhook
                  group_by: ['...']
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: webhook
                    webhook_configs:
                      - url: http://127.0.0.1:%d/
                        send_resolved: false
                """.formatted(webhookPort));
        return ServerProcess.start("alertmanager", List.of(Tool.ALERTMANAGER.path().toString(),
                "--config.file=" + config, "--storage.path=" + work.resolve("alertmanager-data"),
                "--web.listen-address=127.0.0.1:" + port, "--cluster.listen-address="),
                work.resolve("alertmanager.log"), port, "/-/ready");
    }

    private static ServerProcess startPrometheus(Path work, int alertmanagerPort, ScrapeTargets targets)
            throws IOException, InterruptedException {
        int port = ServerProcess.freePort();
        Path rules = work.resolve("memfd_exporter.rules.yml");
        RuleFile.copyWithFor(RuleFile.SHIPPED, "0s", rules);
        Path config = writePrometheusConfig(work, alertmanagerPort, targets);
        return ServerProcess.start("prometheus", List.of(Tool.PROMETHEUS.path().toString(),
                "--config.file=" + config, "--storage.tsdb.path=" + work.resolve("prometheus-data"),
                "--web.enable-lifecycle", "--web.listen-address=127.0.0.1:" + port),
                work.resolve("prometheus.log"), port, "/-/ready");
    }

    /**
     * prometheus.yml scraping each target (node name to exporter port) as the Prometheus Operator
     * scrapes the shipped PodMonitor: the job named {@code <namespace>/<PodMonitor name>}, then the
     * PodMonitor's relabelings as the file has them. The node name is the
     * {@code __meta_kubernetes_pod_node_name} that Kubernetes service discovery would give. And
     * kube-state-metrics with its own labels kept ({@code honor_labels}), as kube-prometheus scrapes it.
     */
    private static Path writePrometheusConfig(Path work, int alertmanagerPort, ScrapeTargets targets)
            throws IOException {
        Map<String, Object> podMonitor;
        try (InputStream in = Files.newInputStream(POD_MONITOR)) {
            podMonitor = RuleFile.yaml().load(in);
        }
        String name = (String) ((Map<?, ?>) podMonitor.get("metadata")).get("name");
        Map<?, ?> endpoint = (Map<?, ?>) ((List<?>) ((Map<?, ?>) podMonitor.get("spec")).get("podMetricsEndpoints")).get(0);
        JsonArray relabelings = new JsonArray().add(new JsonObject().put("target_label", "job")
                .put("replacement", MONITORING_NAMESPACE + "/" + name));
        for (Object relabeling : (List<?>) endpoint.get("relabelings")) {
            JsonObject converted = new JsonObject();
            ((Map<?, ?>) relabeling).forEach((key, value) -> converted.put(snakeCase((String) key),
                    value instanceof List<?> list ? new JsonArray(new ArrayList<>(list)) : value));
            relabelings.add(converted);
        }
        JsonArray staticConfigs = new JsonArray();
        targets.exportersByNode().forEach((node, port) -> staticConfigs.add(new JsonObject()
                .put("targets", new JsonArray().add("127.0.0.1:" + port))
                .put("labels", new JsonObject().put("__meta_kubernetes_pod_node_name", node))));
        Path rules = work.resolve("memfd_exporter.rules.yml");
        return Files.writeString(work.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                  - %s
                alerting:
                  alertmanagers:
                    - static_configs:
                        - targets: ['127.0.0.1:%d']
                scrape_configs:
                  - job_name: %s
                    metrics_path: %s
                    static_configs: %s
                    relabel_configs: %s
                  - job_name: kube-state-metrics
                    honor_labels: true
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(rules, alertmanagerPort, "podMonitor/" + MONITORING_NAMESPACE + "/" + name + "/0",
                endpoint.get("path"), staticConfigs.encode(), relabelings.encode(), targets.kubeStateMetricsPort()));
    }

    /** sourceLabels to source_labels: the PodMonitor's field names as Prometheus spells them. */
    private static String snakeCase(String camelCase) {
        return camelCase.replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT);
    }

    /** The exporters by node name and kube-state-metrics' port: what Prometheus scrapes. */
    private record ScrapeTargets(Map<String, Integer> exportersByNode, int kubeStateMetricsPort) {
        ScrapeTargets without(String node) {
            Map<String, Integer> exporters = new java.util.HashMap<>(exportersByNode);
            exporters.remove(node);
            return new ScrapeTargets(exporters, kubeStateMetricsPort);
        }
    }

    /** Prometheus's HTTP API. */
    private record Prometheus(int port) {
        JsonArray query(String promql) {
            return get("/api/v1/query?query=" + encode(promql)).getJsonObject("data").getJsonArray("result");
        }

        /** The values of an instant query at a Unix time, as Prometheus formats them. */
        List<String> values(String promql, double time) {
            return values(get("/api/v1/query?time=" + time + "&query=" + encode(promql)).getJsonObject("data").getJsonArray("result"));
        }

        List<String> values(String promql) {
            return values(query(promql));
        }

        private static List<String> values(JsonArray result) {
            return result.stream().map(sample -> ((JsonObject) sample).getJsonArray("value").getString(1)).toList();
        }

        /** Makes Prometheus read its configuration file again (--web.enable-lifecycle). */
        void reload() throws IOException, InterruptedException {
            HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/-/reload"))
                            .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), "reload: " + response.body());
        }

        /** A range query from one second to another, a step a second: the series of a Grafana graph. */
        JsonArray queryRange(String promql, long from, long to) {
            return get("/api/v1/query_range?query=" + encode(promql) + "&start=" + from + "&end=" + to + "&step=1")
                    .getJsonObject("data").getJsonArray("result");
        }

        List<JsonObject> firingAlerts() {
            return get("/api/v1/alerts").getJsonObject("data").getJsonArray("alerts").stream().map(JsonObject.class::cast)
                    .filter(alert -> "firing".equals(alert.getString("state")))
                    .map(alert -> alert.getJsonObject("labels")).toList();
        }

        List<JsonObject> rules() {
            List<JsonObject> rules = new ArrayList<>();
            for (Object group : get("/api/v1/rules").getJsonObject("data").getJsonArray("groups")) {
                ((JsonObject) group).getJsonArray("rules").forEach(rule -> rules.add((JsonObject) rule));
            }
            return rules;
        }

        List<String> labelValues(String label, String match) {
            return get("/api/v1/label/" + label + "/values?match[]=" + encode(match)).getJsonArray("data")
                    .stream().map(String.class::cast).toList();
        }

        /** The error Prometheus answers a query it cannot evaluate with. */
        String queryError(String promql) {
            HttpResponse<byte[]> response = Http.get(port, "/api/v1/query?query=" + encode(promql), null);
            JsonObject body = new JsonObject(new String(response.body(), StandardCharsets.UTF_8));
            assertEquals("error", body.getString("status"), promql + ": " + body);
            return body.getString("error");
        }

        /** The response of a successful call: status, and its data. */
        private JsonObject get(String pathAndQuery) {
            HttpResponse<byte[]> response = Http.get(port, pathAndQuery, null);
            JsonObject body = new JsonObject(new String(response.body(), StandardCharsets.UTF_8));
            assertEquals(200, response.statusCode(), pathAndQuery + ": " + body);
            assertEquals("success", body.getString("status"), pathAndQuery + ": " + body);
            return body;
        }

        private static String encode(String value) {
            return URLEncoder.encode(value, StandardCharsets.UTF_8);
        }
    }

    /** A /metrics page of fixed text, as a stand-in for kube-state-metrics. */
    private static final class StaticExposition implements AutoCloseable {
        private final HttpServer server;

        private StaticExposition(HttpServer server) {
            this.server = server;
        }

        static StaticExposition start(String text) throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            byte[] body = text.getBytes(StandardCharsets.UTF_8);
            server.createContext("/metrics", exchange -> {
                try (exchange) {
                    exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                }
            });
            server.start();
            return new StaticExposition(server);
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    /** Alertmanager's webhook receiver: keeps every alert it is sent. */
    private static final class Webhook implements AutoCloseable {
        private final HttpServer server;
        private final List<JsonObject> alerts = new CopyOnWriteArrayList<>();

        private Webhook(HttpServer server) {
            this.server = server;
        }

        static Webhook start() throws IOException {
            Webhook webhook = new Webhook(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0));
            webhook.server.createContext("/", exchange -> {
                try (InputStream body = exchange.getRequestBody()) {
                    JsonObject notification = new JsonObject(new String(body.readAllBytes(), StandardCharsets.UTF_8));
                    notification.getJsonArray("alerts").forEach(alert -> webhook.alerts.add((JsonObject) alert));
                    exchange.sendResponseHeaders(200, -1);
                } finally {
                    exchange.close();
                }
            });
            webhook.server.start();
            return webhook;
        }

        int port() {
            return server.getAddress().getPort();
        }

        boolean received(Expected expected) {
            return alerts.stream().anyMatch(alert -> "firing".equals(alert.getString("status"))
                    && expected.matches(alert.getJsonObject("labels")));
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    private static String lap(long start, String what) {
        return what + " " + seconds(start);
    }

    private static String seconds(long start) {
        return String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9);
    }
}
