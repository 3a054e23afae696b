package io.memfdexporter;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.Capabilities;
import io.memfdexporter.bpf.KernelRequirements;
import io.memfdexporter.bpf.Native;
import io.memfdexporter.http.HttpLimits;
import io.memfdexporter.bpf.PinLock;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.MetricsServer;
import io.memfdexporter.live.LiveMemfdMonitor;
import io.memfdexporter.live.LiveScan;
import io.memfdexporter.live.LiveScanner;
import io.memfdexporter.http.WebConfig;
import io.memfdexporter.metrics.BpfProgramCollector;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.metrics.CollectorSet;
import io.memfdexporter.metrics.ExecCollector;
import io.memfdexporter.metrics.ExecMappingCollector;
import io.memfdexporter.metrics.LiveMemfdCollector;
import io.memfdexporter.metrics.MemfdCollector;
import io.memfdexporter.metrics.SecretCollector;
import io.memfdexporter.metrics.SizesCollector;
import io.memfdexporter.privileges.PrivilegeDrop;
import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.ExecMappingProbe;
import io.memfdexporter.probe.ExecProbe;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.probe.Probe;
import io.memfdexporter.probe.SecretProbe;
import io.memfdexporter.probe.SizesProbe;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The composition root: attaches the probes, starts the live memfd scans,
 * registers the collectors and serves HTTP. Closing it stops serving and
 * scanning, detaches the programs (unless pinned) and closes every fd, in an
 * order that lets no scrape or scan touch what is already closed: the HTTP
 * server stops accepting, the scrapes in flight finish (later ones are
 * refused), the scan in progress ends, and only then are the probes closed.
 */
public final class Exporter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Exporter.class.getName());
    private static final String ROOT = "root";

    private final List<Probe> probes;
    /** Null with --no-collector.live. */
    private final LiveMemfdMonitor live;
    private final CollectorSet collectors;
    private final MetricsServer server;
    private final BpfPins pins;
    /** Null without --bpf.pin-path. */
    private final PinLock pinLock;

    /** Exporter settings; the CLI documents each. */
    public record Config(ListenAddress listenAddress, String telemetryPath, int maxComms, int maxCommSeries,
                         boolean live, Duration liveInterval, long liveMaxFds, LiveScanner.Choice liveMethod, BpfPins pins,
                         WebConfig web, HttpLimits http, boolean dropPrivileges, Optional<ExecProbe.CommSource> execCommSource,
                         Optional<Path> cgroupMount) {
        public static final int DEFAULT_MAX_COMM_SERIES = 200;
        public static final Duration DEFAULT_LIVE_INTERVAL = Duration.ofSeconds(15);
        public static final long DEFAULT_LIVE_MAX_FDS = 200_000;

        /** Defaults for everything but the address, and privileges kept (as a test JVM needs). */
        public static Config listeningOn(ListenAddress address) {
            return new Config(address, "/metrics", MemfdProbe.DEFAULT_MAX_COMMS, DEFAULT_MAX_COMM_SERIES,
                    true, DEFAULT_LIVE_INTERVAL, DEFAULT_LIVE_MAX_FDS, LiveScanner.Choice.AUTO, BpfPins.NONE, WebConfig.NONE, HttpLimits.DEFAULT, false,
                    Optional.empty(), Optional.empty());
        }

        public Config withMaxComms(int newMaxComms) {
            return new Config(listenAddress, telemetryPath, newMaxComms, maxCommSeries, live, liveInterval, liveMaxFds, liveMethod, pins,
                    web, http, dropPrivileges, execCommSource, cgroupMount);
        }

        public Config withMaxCommSeries(int newMaxCommSeries) {
            return new Config(listenAddress, telemetryPath, maxComms, newMaxCommSeries, live, liveInterval, liveMaxFds, liveMethod, pins,
                    web, http, dropPrivileges, execCommSource, cgroupMount);
        }

        public Config withPins(BpfPins newPins) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, live, liveInterval, liveMaxFds, liveMethod, newPins,
                    web, http, dropPrivileges, execCommSource, cgroupMount);
        }

        public Config withLiveInterval(Duration newLiveInterval) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, live, newLiveInterval, liveMaxFds, liveMethod, pins,
                    web, http, dropPrivileges, execCommSource, cgroupMount);
        }

        /** The exec probe's comm source, instead of the best the kernel supports (for tests of both). */
        Config withExecCommSource(ExecProbe.CommSource newExecCommSource) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, live, liveInterval, liveMaxFds, liveMethod, pins,
                    web, http, dropPrivileges, Optional.of(newExecCommSource), cgroupMount);
        }

        /**
         * Names cgroups from the cgroup2 mount at this path instead of the one found in /proc/self/mountinfo (for
         * tests whose cgroup2 tree is in a private mount namespace, reached through /proc/PID/root).
         */
        public Config withCgroupMount(Path newCgroupMount) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, live, liveInterval, liveMaxFds, liveMethod, pins,
                    web, http, dropPrivileges, execCommSource, Optional.of(newCgroupMount));
        }

        public Config withWeb(WebConfig newWeb) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, live, liveInterval, liveMaxFds, liveMethod, pins,
                    newWeb, http, dropPrivileges, execCommSource, cgroupMount);
        }

        public Config withHttp(HttpLimits newHttp) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, live, liveInterval, liveMaxFds, liveMethod, pins,
                    web, newHttp, dropPrivileges, execCommSource, cgroupMount);
        }
    }

    private Exporter(List<Probe> probes, LiveMemfdMonitor live, CollectorSet collectors, MetricsServer server,
                     BpfPins pins, PinLock pinLock) {
        this.probes = probes;
        this.live = live;
        this.collectors = collectors;
        this.server = server;
        this.pins = pins;
        this.pinLock = pinLock;
    }

    /**
     * Attaches, serves, then drops privileges if asked.
     *
     * @throws io.memfdexporter.bpf.BpfUnavailableException when a probe cannot be attached, another
     *         exporter holds the pin directory, or the kernel lacks what the programs need
     * @throws io.memfdexporter.http.ListenException when the address cannot be bound
     * @throws io.memfdexporter.privileges.PrivilegeDropException when privileges cannot be dropped
     */
    public static Exporter start(Config config) {
        KernelRequirements.check();
        List<Probe> probes = new ArrayList<>();
        LiveMemfdMonitor live = null;
        CollectorSet collectorSet = null;
        MetricsServer server = null;
        PinLock pinLock = null;
        try {
            if (config.pins().enabled()) {
                pinLock = config.pins().lock(Native.get());
            }
            // Before any probe attaches: the /proc scanner creates a memfd of each kind to learn where memfds live,
            // and the exporter's own probes would count those calls. Started only after the privilege drop, which
            // first tries a scan on this thread without capabilities.
            if (config.live()) {
                live = LiveMemfdMonitor.create(LiveScanner.choose(config.liveMethod(), config.liveMaxFds()),
                        config.liveInterval());
            }
            MemfdProbe memfd = MemfdProbe.attach(config.maxComms(), config.pins());
            probes.add(memfd);
            SizesProbe sizes = SizesProbe.attach(config.maxComms(), config.pins());
            probes.add(sizes);
            Optional<SecretProbe> secret = SecretProbe.attachIfSupported(config.maxComms(), config.pins());
            secret.ifPresent(probes::add);
            ExecProbe exec = ExecProbe.attach(config.maxComms(), config.pins(),
                    config.execCommSource().orElseGet(ExecProbe.CommSource::forThisKernel));
            probes.add(exec);
            Optional<ExecMappingProbe> execMappings = ExecMappingProbe.attachIfSupported(config.maxComms(), config.pins());
            execMappings.ifPresent(probes::add);
            List<Probe> attached = List.copyOf(probes);

            int maxCommSeries = config.maxCommSeries();
            // One cache for every per-cgroup family.
            CgroupPaths cgroups = config.cgroupMount().map(CgroupPaths::at).orElseGet(CgroupPaths::ofThisHost);
            List<CollectorSet.Named> collectors = new ArrayList<>(List.of(
                    new CollectorSet.Named("memfd", new MemfdCollector(memfd::read, cgroups, maxCommSeries)),
                    new CollectorSet.Named("sizes", new SizesCollector(sizes::read, cgroups, maxCommSeries))));
            secret.ifPresent(probe -> collectors.add(new CollectorSet.Named("secret",
                    new SecretCollector(probe::read, maxCommSeries))));
            collectors.add(new CollectorSet.Named("exec", new ExecCollector(exec::read, cgroups, maxCommSeries)));
            execMappings.ifPresent(probe -> collectors.add(new CollectorSet.Named("exec_mappings",
                    new ExecMappingCollector(probe::read, cgroups, maxCommSeries))));
            collectors.add(new CollectorSet.Named("bpf_programs", new BpfProgramCollector(attached)));
            if (live != null) {
                collectors.add(new CollectorSet.Named("live", new LiveMemfdCollector(live, cgroups, maxCommSeries)));
            }
            PrometheusRegistry registry = new PrometheusRegistry();
            BuildInfo buildInfo = BuildInfo.current(Native.get().libbpfVersion());
            collectorSet = new CollectorSet(collectors, buildInfo);
            registry.register(collectorSet);
            server = MetricsServer.start(config.listenAddress(), config.telemetryPath(), config.web(), config.http(), registry,
                    () -> attached.stream().allMatch(Probe::isAttached), buildInfo.version());
            LiveMemfdMonitor liveMonitor = live;
            if (config.dropPrivileges()) {
                dropPrivileges(live == null ? null : live.method(), () -> {
                    attached.forEach(Probe::programStats);
                    memfd.read();
                    if (liveMonitor != null) {
                        liveMonitor.scanNow();
                    }
                });
            }
            if (live != null) {
                live.start();
                boolean proc = liveMonitor.method() == LiveScan.Method.PROC;
                LOG.info(() -> "live memfd scans "
                        + (proc ? "walk /proc" : "run BPF iterators (task_file, task_vma; no privilege needed after startup)")
                        + " every " + config.liveInterval().toMillis() / 1e3 + " s, at most " + config.liveMaxFds()
                        + (proc ? " fds" : " memfd records") + " each");
            }
            Native.get().releaseFreedMemory(); // every BPF object is loaded, and the first scans are done
            int port = server.port();
            LOG.info(() -> "listening on " + config.listenAddress().host() + ":" + port
                    + ", metrics at " + config.telemetryPath() + " (" + config.web().describe() + ")");
            return new Exporter(attached, live, collectorSet, server, config.pins(), pinLock);
        } catch (RuntimeException e) {
            closeInOrder(server, collectorSet, live, probes, pinLock);
            throw e;
        }
    }

    /**
     * The live collector's BPF iterators need nothing once attached, so with
     * them (or without the live collector) every privilege goes. The /proc
     * fallback reads other processes' /proc entries, which needs root's or the
     * listed capabilities: as root it would be blind after the drop (to uid
     * nobody, without capabilities), so root keeps them while it runs.
     *
     * @param liveMethod null without the live collector
     * @param scrape     a scrape and a live scan, tried without capabilities first
     */
    private static void dropPrivileges(LiveScan.Method liveMethod, Runnable scrape) {
        if (liveMethod == LiveScan.Method.PROC && ROOT.equals(System.getProperty("user.name"))) {
            if (Capabilities.ofThisProcess().hasSysAdmin()) {
                LOG.warning("privileges kept: the live collector reads every process's /proc/PID/fd as root"
                        + " (--collector.live.method=proc, or the kernel refused the BPF iterators, which need no"
                        + " privilege after startup); pass --no-collector.live to drop everything after attaching");
            } else {
                LOG.info("privileges kept for the live collector's /proc method, which reads every process's"
                        + " /proc/PID/fd; the process holds no CAP_SYS_ADMIN");
            }
            return;
        }
        PrivilegeDrop.afterAttach(scrape);
    }

    /** The bound HTTP port. */
    public int port() {
        return server.port();
    }

    /**
     * Stops accepting scrapes, waits for those in flight (refusing later
     * ones), stops the live scans, closes the probes in the reverse order of
     * their attach, and releases the pin directory last; each may be null
     * (not started).
     */
    private static void closeInOrder(MetricsServer server, CollectorSet collectors, LiveMemfdMonitor live,
                                     List<Probe> probes, PinLock pinLock) {
        if (server != null) {
            server.close();
        }
        if (collectors != null) {
            collectors.close();
        }
        if (live != null) {
            live.close();
        }
        for (int i = probes.size() - 1; i >= 0; i--) {
            probes.get(i).close();
        }
        if (pinLock != null) {
            pinLock.close();
        }
    }

    @Override
    public void close() {
        closeInOrder(server, collectors, live, probes, pinLock);
        if (pins.enabled()) {
            LOG.info(() -> "stopped: the BPF programs stay attached and pinned in " + pins.root()
                    + ", counting for the next start (--bpf.unpin detaches them)");
        } else {
            LOG.info("stopped: BPF programs detached");
        }
    }
}
