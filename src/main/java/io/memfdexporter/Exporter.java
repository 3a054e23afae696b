package io.memfdexporter;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

import io.memfdexporter.bpf.Native;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.MetricsServer;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.metrics.BuildInfoCollector;
import io.memfdexporter.metrics.MemfdCollector;
import io.memfdexporter.metrics.SecretCollector;
import io.memfdexporter.metrics.SizesCollector;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.probe.Probe;
import io.memfdexporter.probe.SecretProbe;
import io.memfdexporter.probe.SizesProbe;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The composition root: attaches the probes, registers their collectors and
 * serves HTTP. Closing it stops serving, detaches the programs and closes every fd.
 */
public final class Exporter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Exporter.class.getName());

    private final List<Probe> probes;
    private final MetricsServer server;

    /** Exporter settings; the CLI documents each. */
    public record Config(ListenAddress listenAddress, String telemetryPath, int maxComms) {
    }

    private Exporter(List<Probe> probes, MetricsServer server) {
        this.probes = probes;
        this.server = server;
    }

    /**
     * @throws io.memfdexporter.bpf.BpfUnavailableException when a probe cannot be attached (memfd_secret's
     *         missing tracepoint excepted: it is logged and its metrics are absent)
     * @throws io.memfdexporter.http.ListenException when the address cannot be bound
     */
    public static Exporter start(Config config) {
        List<Probe> probes = new ArrayList<>();
        try {
            MemfdProbe memfd = MemfdProbe.attach(config.maxComms());
            probes.add(memfd);
            SizesProbe sizes = SizesProbe.attach(config.maxComms());
            probes.add(sizes);
            Optional<SecretProbe> secret = SecretProbe.attachIfSupported(config.maxComms());
            secret.ifPresent(probes::add);

            PrometheusRegistry registry = new PrometheusRegistry();
            BuildInfo buildInfo = BuildInfo.current(Native.get().libbpfVersion());
            registry.register(new BuildInfoCollector(buildInfo));
            registry.register(new MemfdCollector(memfd::read));
            registry.register(new SizesCollector(sizes::read));
            secret.ifPresent(probe -> registry.register(new SecretCollector(probe::read)));
            List<Probe> attached = List.copyOf(probes);
            MetricsServer server = MetricsServer.start(config.listenAddress(), config.telemetryPath(), registry,
                    () -> attached.stream().allMatch(Probe::isAttached), buildInfo.version());
            LOG.info(() -> "listening on " + config.listenAddress().host() + ":" + server.port()
                    + ", metrics at " + config.telemetryPath());
            return new Exporter(attached, server);
        } catch (RuntimeException e) {
            closeAll(probes);
            throw e;
        }
    }

    /** The bound HTTP port. */
    public int port() {
        return server.port();
    }

    /** Closes probes in the reverse order of their attach. */
    private static void closeAll(List<Probe> probes) {
        for (int i = probes.size() - 1; i >= 0; i--) {
            probes.get(i).close();
        }
    }

    @Override
    public void close() {
        server.close();
        closeAll(probes);
        LOG.info("stopped: BPF programs detached");
    }
}
