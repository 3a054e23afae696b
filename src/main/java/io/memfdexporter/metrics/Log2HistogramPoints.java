package io.memfdexporter.metrics;

import java.util.ArrayList;
import java.util.List;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.Log2Histogram;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.NativeHistogramBuckets;

/**
 * Turns a kernel log2 histogram into one Prometheus data point carrying both
 * representations: classic buckets {@code le="0"}, 1, 2, 4, … 2^maxExponent
 * and +Inf for every Prometheus, and a native histogram of schema 0, whose
 * bucket i is exactly (2^(i-1), 2^i] (the kernel's slot i+1), so Prometheus
 * with native histograms gets every bucket without loss.
 */
public final class Log2HistogramPoints {
    private Log2HistogramPoints() {
    }

    /** @param maxExponent the largest classic bucket is le=2^maxExponent; larger values land in +Inf only */
    public static HistogramDataPointSnapshot of(Log2Histogram histogram, int maxExponent, Labels labels) {
        List<Double> upperBounds = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        upperBounds.add(0.0);
        counts.add(histogram.slot(0));
        long overflow = 0;
        for (int slot = 1; slot < Log2Histogram.SLOTS; slot++) {
            int exponent = slot - 1;
            if (exponent <= maxExponent) {
                upperBounds.add(Math.scalb(1.0, exponent));
                counts.add(histogram.slot(slot));
            } else {
                overflow += histogram.slot(slot);
            }
        }
        upperBounds.add(Double.POSITIVE_INFINITY);
        counts.add(overflow);

        NativeHistogramBuckets.Builder nativeBuckets = NativeHistogramBuckets.builder();
        for (int slot = 1; slot < Log2Histogram.SLOTS; slot++) {
            if (histogram.slot(slot) > 0) {
                nativeBuckets.bucket(slot - 1, histogram.slot(slot));
            }
        }
        return HistogramDataPointSnapshot.builder()
                .labels(labels)
                .classicHistogramBuckets(ClassicHistogramBuckets.of(upperBounds, counts))
                .nativeSchema(0)
                .nativeZeroCount(histogram.slot(0))
                .nativeZeroThreshold(0)
                .nativeBucketsForPositiveValues(nativeBuckets.build())
                .sum(U64.toDouble(histogram.sum()))
                .build();
    }
}
