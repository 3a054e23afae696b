package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.memfdexporter.testing.Exposition;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

class CollectorSetTest {
    @Test
    void aFailingCollectorIsReportedAndTheOthersStillExport() throws Exception {
        CollectorSet set = new CollectorSet(List.of(
                new CollectorSet.Named("broken", () -> {
                    throw new IllegalStateException("map read failed");
                }),
                new CollectorSet.Named("working", () -> MetricSnapshots.of(MetricFamily.OBSERVED_CALLS.counter()
                        .dataPoint(CounterDataPointSnapshot.builder().value(7).build()).build()))),
                new BuildInfo("1.2.3", "1.1", "17"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, set.collect());
        Exposition text = Exposition.parse(out.toString(StandardCharsets.UTF_8));

        assertEquals(0, text.value("memfd_exporter_collector_success", "collector", "broken"));
        assertEquals(1, text.value("memfd_exporter_collector_success", "collector", "working"));
        assertEquals(7, text.value("memfd_create_observed_calls_total"));
        assertEquals(1, text.value("memfd_exporter_build_info", "version", "1.2.3", "libbpf_version", "1.1", "java_version", "17"));
        assertTrue(text.value("memfd_exporter_collector_duration_seconds", "collector", "broken") >= 0);
    }
}
