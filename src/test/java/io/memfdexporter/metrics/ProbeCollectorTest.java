package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.memfdexporter.cgroup.CgroupPaths;
import io.memfdexporter.probe.CgroupBytesTotals;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.Log2Histogram;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.SecretCounts;
import io.memfdexporter.probe.SecretTotals;
import io.memfdexporter.probe.SizesCounts;
import io.memfdexporter.probe.SlotCounts;
import io.memfdexporter.testing.Exposition;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** Several probes' collectors in one registry: shared families merge, and a failed read costs one probe only. */
class ProbeCollectorTest {
    private static final CommKey SH = new CommKey("sh".getBytes(StandardCharsets.US_ASCII));

    @Test
    void probesShareTheMapAndReadFamiliesAndFailAlone() throws Exception {
        long[] slots = new long[Log2Histogram.SLOTS];
        slots[Log2Histogram.slotOf(12288)] = 1;
        SizesCounts sizes = new SizesCounts(new Log2Histogram(slots, 12288), SlotCounts.of(Map.of(SH, 12288L)), 0, 0,
                Map.of(), new CgroupBytesTotals(0, 0), List.of(new MapFill("requested_bytes_by_comm", 1, 8)));
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new CollectorSet(List.of(
                new CollectorSet.Named("sizes", new SizesCollector(() -> sizes, CgroupPaths.ofThisHost(), 200)),
                new CollectorSet.Named("secret", new SecretCollector(() -> {
                    throw new IllegalStateException("map read failed");
                }, 200))), new BuildInfo("1", "1.1", "17")));

        Exposition text = scrape(registry);
        assertEquals(1, text.value("memfd_requested_size_bytes_bucket", "le", "16384.0"));
        assertEquals(12288, text.value("memfd_requested_bytes_total", "comm", "sh"));
        assertEquals(8, text.value("memfd_exporter_bpf_map_capacity", "map", "requested_bytes_by_comm"));
        assertEquals(1, text.value("memfd_exporter_collector_success", "collector", "sizes"));
        assertEquals(0, text.value("memfd_exporter_collector_success", "collector", "secret"));
        assertFalse(text.hasFamily("memfd_secret_unrecorded_total"), "no metrics of the probe whose read failed");
        assertTrue(text.family("memfd_exporter_collector_duration_seconds").size() == 2, "one duration per collector");
    }

    @Test
    void secretFailuresAreLabelledWithErrnoNames() throws Exception {
        SecretCounts secret = new SecretCounts(SlotCounts.of(Map.of(SH, 3L)), SlotCounts.of(Map.of(new FailureKey(SH, 38), 2L)),
                new SecretTotals(0, 0), List.of(new MapFill("secret_calls_by_comm", 1, 8),
                        new MapFill("secret_failures_by_comm", 1, 8)));
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new SecretCollector(() -> secret, 200));

        Exposition text = scrape(registry);
        assertEquals(3, text.value("memfd_secret_calls_total", "comm", "sh"));
        assertEquals(2, text.value("memfd_secret_failures_total", "comm", "sh", "errno", "ENOSYS"));
        assertEquals(0, text.value("memfd_secret_unrecorded_total", "map", "secret_failures_by_comm"));
        assertEquals(1, text.value("memfd_exporter_bpf_map_entries", "map", "secret_failures_by_comm"));
    }

    /** Kernel values past 2^63 are u64s, not negative longs: client_java would refuse a negative counter. */
    @Test
    void valuesPast2To63AreExposedAsUnsigned() throws Exception {
        long[] slots = new long[Log2Histogram.SLOTS];
        slots[Log2Histogram.slotOf(Long.MAX_VALUE)] = 2;
        CommKey other = new CommKey("other".getBytes(StandardCharsets.US_ASCII));
        SizesCounts sizes = new SizesCounts(new Log2Histogram(slots, -2L), SlotCounts.of(Map.of(SH, -1L, other, Long.MIN_VALUE)),
                Long.MIN_VALUE, 5, Map.of(), new CgroupBytesTotals(-1L, 0), List.of(new MapFill("requested_bytes_by_comm", 2, 8)));
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new CollectorSet(List.of(new CollectorSet.Named("sizes", new SizesCollector(() -> sizes, CgroupPaths.ofThisHost(), 1))),
                new BuildInfo("1", "1.1", "17")));

        Exposition text = scrape(registry);
        assertEquals(1, text.value("memfd_exporter_collector_success", "collector", "sizes"));
        assertEquals(1.8446744073709552E19, text.value("memfd_requested_bytes_total", "comm", "sh"));
        assertEquals(9.223372036854775808E18, text.value("memfd_requested_bytes_total", "comm", "(other)"));
        assertEquals(1, text.value("memfd_exporter_folded_comms", "family", "memfd_requested_bytes_total"));
        assertEquals(9.223372036854775808E18, text.value("memfd_requested_unrecorded_bytes_total"));
        assertEquals(1.8446744073709552E19, text.value("memfd_requested_size_bytes_sum"), "2^64 - 2, nearest double");
        assertEquals(5, text.value("memfd_requested_size_unsummed_bytes_total"));
        assertEquals(1.8446744073709552E19, text.value("memfd_by_cgroup_removed_total", "family",
                "memfd_requested_bytes_by_cgroup_total"), "a saturated u64 removed total");
    }

    private static Exposition scrape(PrometheusRegistry registry) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return Exposition.parse(out.toString(StandardCharsets.UTF_8));
    }
}
