package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.ExecCounts;
import io.memfdexporter.probe.ExecKey;
import io.memfdexporter.probe.ExecTotals;
import io.memfdexporter.probe.ExecVia;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.Log2Histogram;
import io.memfdexporter.probe.MemfdCounts;
import io.memfdexporter.probe.MemfdNameKind;
import io.memfdexporter.probe.SlotCounts;
import io.memfdexporter.probe.Totals;
import io.memfdexporter.testing.Exposition;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** How the exec probe's keys become series, and how both collectors share the exporter's own families. */
class ExecCollectorTest {
    private static final ExecCounts COUNTS = new ExecCounts(SlotCounts.of(Map.of(
            key("runc", MemfdNameKind.RUNC, true), 5L,
            key("python3", MemfdNameKind.OTHER, true), 2L,
            new ExecKey(new CommKey("python3".getBytes(StandardCharsets.UTF_8)), MemfdNameKind.OTHER, true,
                    ExecVia.INTERPRETER), 4L,
            key("", MemfdNameKind.OTHER, false), 1L,
            key("", MemfdNameKind.OTHER, true), 3L)), Map.of(),
            new ExecTotals(15, 0, 0, 0), List.of(new MapFill("execs_by_comm", 4, 10240), new MapFill("exec_comm_stash", 0, 8192)));

    @Test
    void labelsEachKeyByCommNameKindAndViaWithUnknownCommsApart() throws IOException {
        Exposition metrics = scrape(() -> COUNTS);

        assertEquals(5, metrics.value("memfd_exec_total", "comm", "runc", "memfd_name_kind", "runc", "via", "binary"));
        assertEquals(2, metrics.value("memfd_exec_total", "comm", "python3", "memfd_name_kind", "other", "via", "binary"));
        assertEquals(4, metrics.value("memfd_exec_total", "comm", "python3", "memfd_name_kind", "other", "via", "interpreter"));
        assertEquals(1, metrics.value("memfd_exec_total", "comm", "(unknown)", "memfd_name_kind", "other", "via", "binary"));
        assertEquals(3, metrics.value("memfd_exec_total", "comm", "(empty)", "memfd_name_kind", "other", "via", "binary"));
        assertEquals(15, metrics.value("memfd_exec_observed_total"));
        assertEquals(0, metrics.value("memfd_exec_unrecorded_total"));
        assertEquals(8192, metrics.value("memfd_exporter_bpf_map_capacity", "map", "exec_comm_stash"));
        assertEquals(1, metrics.value("memfd_exporter_collector_success", "collector", "exec"));
    }

    @Test
    void aFailedReadLeavesOutOnlyThisProbesFamiliesAndIsCounted() throws IOException {
        String text = render(() -> {
            throw new IllegalStateException("map gone");
        });
        Exposition metrics = Exposition.parse(text);

        assertFalse(metrics.hasFamily("memfd_exec_observed_total"));
        assertEquals(0, metrics.value("memfd_exporter_collector_success", "collector", "exec"));
        assertEquals(1, metrics.value("memfd_exporter_collector_success", "collector", "memfd"));
        assertEquals(64, metrics.value("memfd_exporter_bpf_map_capacity", "map", "calls_by_comm"));
    }

    @Test
    void bothProbesShareOneFamilyPerExporterMetric() throws IOException {
        String text = render(() -> COUNTS);
        for (String family : List.of("memfd_exporter_bpf_map_entries", "memfd_exporter_bpf_map_capacity",
                "memfd_exporter_collector_duration_seconds", "memfd_exporter_collector_success")) {
            assertEquals(1, text.lines().filter(line -> line.startsWith("# TYPE " + family + " ")).count(), family);
        }
        Exposition metrics = Exposition.parse(text);
        assertEquals(10240, metrics.value("memfd_exporter_bpf_map_capacity", "map", "execs_by_comm"));
        assertEquals(64, metrics.value("memfd_exporter_bpf_map_capacity", "map", "calls_by_comm"));
    }

    private static Exposition scrape(Supplier<ExecCounts> counts) throws IOException {
        return Exposition.parse(render(counts));
    }

    /** Both collectors in one registry, as the exporter registers them, in the text format. */
    private static String render(Supplier<ExecCounts> counts) throws IOException {
        MemfdCounts memfd = new MemfdCounts(SlotCounts.of(Map.of()), Map.of(), SlotCounts.of(Map.of()), Map.of(), Map.of(), Map.of(), new Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                new Log2Histogram(new long[Log2Histogram.SLOTS], 0), List.of(new MapFill("calls_by_comm", 0, 64)));
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new CollectorSet(List.of(
                new CollectorSet.Named("memfd", new MemfdCollector(() -> memfd, CgroupPaths.ofThisHost(), 200)),
                new CollectorSet.Named("exec", new ExecCollector(counts, CgroupPaths.ofThisHost(), 200))), new BuildInfo("test", "1.1", "17")));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExpositionFormats.init().getPrometheusTextFormatWriter().write(out, registry.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    private static ExecKey key(String comm, MemfdNameKind kind, boolean commKnown) {
        return new ExecKey(new CommKey(comm.getBytes(StandardCharsets.UTF_8)), kind, commKnown, ExecVia.BINARY);
    }
}
