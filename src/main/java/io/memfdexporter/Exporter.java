package io.memfdexporter;

import java.util.List;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.Native;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.MetricsServer;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.metrics.BpfProgramCollector;
import io.memfdexporter.metrics.CollectorSet;
import io.memfdexporter.metrics.MemfdCollector;
import io.memfdexporter.probe.CgroupPaths;
import io.memfdexporter.probe.MemfdProbe;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The composition root: attaches the probe, registers the collector and serves
 * HTTP. Closing it stops serving, detaches the programs (unless pinned) and closes every fd.
 */
public final class Exporter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Exporter.class.getName());

    private final MemfdProbe probe;
    private final MetricsServer server;
    private final BpfPins pins;

    /** Exporter settings; the CLI documents each. */
    public record Config(ListenAddress listenAddress, String telemetryPath, int maxComms, int maxCommSeries,
                         BpfPins pins) {
        public static final int DEFAULT_MAX_COMM_SERIES = 200;

        /** Without pinning. */
        public Config(ListenAddress listenAddress, String telemetryPath, int maxComms, int maxCommSeries) {
            this(listenAddress, telemetryPath, maxComms, maxCommSeries, BpfPins.NONE);
        }

        /** Defaults for everything but the address. */
        public static Config listeningOn(ListenAddress address) {
            return new Config(address, "/metrics", MemfdProbe.DEFAULT_MAX_COMMS, DEFAULT_MAX_COMM_SERIES);
        }
    }

    private Exporter(MemfdProbe probe, MetricsServer server, BpfPins pins) {
        this.probe = probe;
        this.server = server;
        this.pins = pins;
    }

    /**
     * @throws io.memfdexporter.bpf.BpfUnavailableException when the probe cannot be attached
     * @throws io.memfdexporter.http.ListenException when the address cannot be bound
     */
    public static Exporter start(Config config) {
        MemfdProbe probe = MemfdProbe.attach(config.maxComms(), config.pins());
        try {
            PrometheusRegistry registry = new PrometheusRegistry();
            BuildInfo buildInfo = BuildInfo.current(Native.get().libbpfVersion());
            registry.register(new CollectorSet(List.of(
                    new CollectorSet.Named("memfd", new MemfdCollector(probe::read, CgroupPaths.ofThisHost(),
                            config.maxCommSeries())),
                    new CollectorSet.Named("bpf_programs", new BpfProgramCollector(List.of(probe)))), buildInfo));
            MetricsServer server = MetricsServer.start(config.listenAddress(), config.telemetryPath(), registry,
                    probe::isAttached, buildInfo.version());
            LOG.info(() -> "listening on " + config.listenAddress().host() + ":" + server.port()
                    + ", metrics at " + config.telemetryPath());
            return new Exporter(probe, server, config.pins());
        } catch (RuntimeException e) {
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
        if (pins.enabled()) {
            LOG.info(() -> "stopped: the BPF programs stay attached and pinned in " + pins.root()
                    + ", counting for the next start (--bpf.unpin detaches them)");
        } else {
            LOG.info("stopped: BPF programs detached");
        }
    }
}
