package io.memfdexporter;

import java.util.logging.Logger;

import io.memfdexporter.bpf.Native;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.MetricsServer;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.metrics.ExecCollector;
import io.memfdexporter.metrics.MemfdCollector;
import io.memfdexporter.probe.ExecProbe;
import io.memfdexporter.probe.MemfdProbe;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The composition root: attaches the probes, registers their collectors and
 * serves HTTP. Closing it stops serving, detaches the programs and closes every fd.
 */
public final class Exporter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Exporter.class.getName());

    private final MemfdProbe memfdProbe;
    private final ExecProbe execProbe;
    private final MetricsServer server;

    /** Exporter settings; the CLI documents each. */
    public record Config(ListenAddress listenAddress, String telemetryPath, int maxComms) {
    }

    private Exporter(MemfdProbe memfdProbe, ExecProbe execProbe, MetricsServer server) {
        this.memfdProbe = memfdProbe;
        this.execProbe = execProbe;
        this.server = server;
    }

    /**
     * @throws io.memfdexporter.bpf.BpfUnavailableException when a probe cannot be attached
     * @throws io.memfdexporter.http.ListenException when the address cannot be bound
     */
    public static Exporter start(Config config) {
        MemfdProbe memfdProbe = MemfdProbe.attach(config.maxComms());
        try {
            ExecProbe execProbe = ExecProbe.attach(config.maxComms());
            try {
                return serve(config, memfdProbe, execProbe);
            } catch (RuntimeException e) {
                execProbe.close();
                throw e;
            }
        } catch (RuntimeException e) {
            memfdProbe.close();
            throw e;
        }
    }

    private static Exporter serve(Config config, MemfdProbe memfdProbe, ExecProbe execProbe) {
        PrometheusRegistry registry = new PrometheusRegistry();
        BuildInfo buildInfo = BuildInfo.current(Native.get().libbpfVersion());
        registry.register(new MemfdCollector(memfdProbe::read, buildInfo));
        registry.register(new ExecCollector(execProbe::read));
        MetricsServer server = MetricsServer.start(config.listenAddress(), config.telemetryPath(), registry,
                () -> memfdProbe.isAttached() && execProbe.isAttached(), buildInfo.version());
        LOG.info(() -> "listening on " + config.listenAddress().host() + ":" + server.port()
                + ", metrics at " + config.telemetryPath());
        return new Exporter(memfdProbe, execProbe, server);
    }

    /** The bound HTTP port. */
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
        execProbe.close();
        memfdProbe.close();
        LOG.info("stopped: BPF programs detached");
    }
}
