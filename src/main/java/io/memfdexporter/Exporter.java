package io.memfdexporter;

import java.util.List;
import java.util.logging.Logger;

import io.memfdexporter.bpf.Native;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.MetricsServer;
import io.memfdexporter.http.WebConfig;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.metrics.BpfProgramCollector;
import io.memfdexporter.metrics.CollectorSet;
import io.memfdexporter.metrics.MemfdCollector;
import io.memfdexporter.privileges.PrivilegeDrop;
import io.memfdexporter.probe.CgroupPaths;
import io.memfdexporter.probe.MemfdProbe;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The composition root: attaches the probe, registers the collector and serves
 * HTTP. Closing it stops serving, detaches the programs and closes every fd.
 */
public final class Exporter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Exporter.class.getName());

    private final MemfdProbe probe;
    private final MetricsServer server;

    /** Exporter settings; the CLI documents each. */
    public record Config(ListenAddress listenAddress, String telemetryPath, int maxComms, int maxCommSeries,
                         WebConfig web, boolean dropPrivileges) {
        public static final int DEFAULT_MAX_COMM_SERIES = 200;

        /** Defaults for everything but the address, and privileges kept (as a test JVM needs). */
        public static Config listeningOn(ListenAddress address) {
            return new Config(address, "/metrics", MemfdProbe.DEFAULT_MAX_COMMS, DEFAULT_MAX_COMM_SERIES, WebConfig.NONE, false);
        }

        public Config withWeb(WebConfig newWeb) {
            return new Config(listenAddress, telemetryPath, maxComms, maxCommSeries, newWeb, dropPrivileges);
        }
    }

    private Exporter(MemfdProbe probe, MetricsServer server) {
        this.probe = probe;
        this.server = server;
    }

    /**
     * Attaches, serves, then drops privileges if asked.
     *
     * @throws io.memfdexporter.bpf.BpfUnavailableException when the probe cannot be attached
     * @throws io.memfdexporter.http.ListenException when the address cannot be bound
     * @throws io.memfdexporter.privileges.PrivilegeDropException when privileges cannot be dropped
     */
    public static Exporter start(Config config) {
        MemfdProbe probe = MemfdProbe.attach(config.maxComms());
        MetricsServer server = null;
        try {
            PrometheusRegistry registry = new PrometheusRegistry();
            BuildInfo buildInfo = BuildInfo.current(Native.get().libbpfVersion());
            registry.register(new CollectorSet(List.of(
                    new CollectorSet.Named("memfd", new MemfdCollector(probe::read, CgroupPaths.ofThisHost(),
                            config.maxCommSeries())),
                    new CollectorSet.Named("bpf_programs", new BpfProgramCollector(List.of(probe)))), buildInfo));
            server = MetricsServer.start(config.listenAddress(), config.telemetryPath(), config.web(), registry,
                    probe::isAttached, buildInfo.version());
            if (config.dropPrivileges()) {
                PrivilegeDrop.afterAttach(() -> {
                    probe.read();
                    probe.programStats();
                });
            }
            int port = server.port();
            LOG.info(() -> "listening on " + config.listenAddress().host() + ":" + port
                    + ", metrics at " + config.telemetryPath() + " (" + config.web().describe() + ")");
            return new Exporter(probe, server);
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            probe.close();
            throw e;
        }
    }

    /** The bound HTTP port. */
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
        probe.close();
        LOG.info("stopped: BPF programs detached");
    }
}
