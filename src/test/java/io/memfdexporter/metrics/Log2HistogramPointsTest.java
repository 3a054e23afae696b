package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.memfdexporter.probe.Log2Histogram;
import io.memfdexporter.testing.Exposition;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

class Log2HistogramPointsTest {
    @Test
    void slotsArePowerOfTwoUpperBounds() {
        assertEquals(0, Log2Histogram.slotOf(0));
        assertEquals(1, Log2Histogram.slotOf(1));
        assertEquals(2, Log2Histogram.slotOf(2));
        assertEquals(3, Log2Histogram.slotOf(3));
        assertEquals(3, Log2Histogram.slotOf(4));
        assertEquals(14, Log2Histogram.slotOf(4097));
        assertEquals(14, Log2Histogram.slotOf(5000));
        assertEquals(14, Log2Histogram.slotOf(8192));
        assertEquals(31, Log2Histogram.slotOf(1L << 29 | 1));
        assertEquals(65, Log2Histogram.slotOf(-1L), "2^64 - 1 as unsigned");
    }

    @Test
    void carriesClassicAndNativeBucketsInOnePoint() throws Exception {
        long[] slots = new long[Log2Histogram.SLOTS];
        slots[Log2Histogram.slotOf(5000)] = 1;
        slots[Log2Histogram.slotOf(3)] = 2;
        slots[Log2Histogram.slotOf(1L << 40)] = 1;
        HistogramDataPointSnapshot point = Log2HistogramPoints.of(new Log2Histogram(slots, 5006 + (1L << 40)), 20, Labels.EMPTY);

        assertEquals(0, point.getNativeSchema());
        assertEquals(2, point.getNativeBucketsForPositiveValues().getCount(0), "native bucket 2 is (2, 4]");
        assertEquals(4, point.getCount());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, MetricSnapshots.of(HistogramSnapshot.builder().name("h").help("h")
                .dataPoint(point).build()));
        Exposition text = Exposition.parse(out.toString(StandardCharsets.UTF_8));
        assertEquals(0, text.value("h_bucket", "le", "2.0"));
        assertEquals(2, text.value("h_bucket", "le", "4.0"));
        assertEquals(2, text.value("h_bucket", "le", "4096.0"));
        assertEquals(3, text.value("h_bucket", "le", "8192.0"));
        assertEquals(3, text.value("h_bucket", "le", "1048576.0"), "2^40 is above the largest classic bound");
        assertEquals(4, text.value("h_bucket", "le", "+Inf"));
        assertEquals(4, text.value("h_count"));
        assertTrue(text.family("h_bucket").size() == 23, "le=0, 2^0..2^20 and +Inf");
    }
}
