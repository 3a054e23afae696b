package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static io.memfdexporter.testing.TestLibC.INSTANCE;
import static io.memfdexporter.testing.TestLibC.check;
import static io.memfdexporter.testing.TestLibC.memfd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.bpf.Errnos;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_36_2.Metrics;

/**
 * Sizes requested for memfds, against the real kernel: real ftruncate and
 * fallocate calls from renamed threads, exact bytes and buckets. The
 * histogram is host-wide, so each scenario is repeated until no other process
 * resized a memfd while it ran.
 */
@ExtendWith(RequiresBpf.class)
class SizesKernelTest {
    private static final String SIZE = "memfd_requested_size_bytes";
    private static final String BYTES = "memfd_requested_bytes_total";
    private static final long GIB = 1L << 30;

    private static Exporter exporter;

    @BeforeAll
    static void start() {
        exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)));
    }

    @AfterAll
    static void stop() {
        if (exporter != null) {
            exporter.close();
        }
    }

    @Test
    void ftruncateOfAMemfdToOneGibIsOneObservationInItsBucketAndBytesOfItsComm() {
        Observed run = quietly("mfdtrunc", () -> {
            int fd = memfd("sizes", TestLibC.MFD_CLOEXEC);
            check(INSTANCE.ftruncate(fd, GIB), "ftruncate");
            INSTANCE.close(fd);
        });

        assertEquals(1, run.countDelta());
        assertEquals(1, run.bucketDelta(30), "one observation in (2^29, 2^30]");
        assertEquals(GIB, run.sumDelta());
        assertEquals(GIB, run.commBytes());
    }

    @Test
    void fallocateOfAMemfdRecordsTheEndOfTheAllocatedRange() {
        Observed run = quietly("mfdfalloc", () -> {
            int fd = memfd("sizes", TestLibC.MFD_CLOEXEC);
            check(INSTANCE.fallocate(fd, 0, 4096, 8192), "fallocate");
            INSTANCE.close(fd);
        });

        assertEquals(1, run.countDelta());
        assertEquals(1, run.bucketDelta(14), "12288 is in (2^13, 2^14]");
        assertEquals(12288, run.sumDelta());
        assertEquals(12288, run.commBytes());
    }

    @Test
    void ftruncateOfAHugetlbMemfdIsCounted() {
        int probe = INSTANCE.memfd_create("huge", TestLibC.MFD_HUGETLB);
        Assumptions.assumeTrue(probe >= 0, "this kernel has no default huge page size for MFD_HUGETLB memfds");
        INSTANCE.close(probe);
        Observed run = quietly("mfdhuge", () -> {
            int fd = memfd("huge", TestLibC.MFD_HUGETLB | TestLibC.MFD_CLOEXEC);
            check(INSTANCE.ftruncate(fd, 2L << 20), "ftruncate"); // one default (2 MiB) huge page
            INSTANCE.close(fd);
        });

        assertEquals(1, run.bucketDelta(21));
        assertEquals(2L << 20, run.commBytes());
    }

    @Test
    void otherFilesFailedCallsAndPunchedHolesAreNotCounted(@TempDir Path dir) throws Exception {
        Path regular = Files.createFile(dir.resolve("regular"));
        Observed run = quietly("mfdother", () -> {
            // A regular file (not tmpfs here, and never nlink 0).
            int file = check(INSTANCE.open(regular.toString(), TestLibC.O_RDWR, 0), "open");
            check(INSTANCE.ftruncate(file, GIB), "ftruncate");
            check(INSTANCE.fallocate(file, 0, 4096, 8192), "fallocate");
            INSTANCE.close(file);

            // An unlinked /dev/shm file with a memfd's name: tmpfs, nlink 0, "memfd:" prefix, but in a directory.
            String shm = "/dev/shm/memfd:" + uniqueComm("x");
            int unlinked = check(INSTANCE.open(shm, TestLibC.O_RDWR | TestLibC.O_CREAT | TestLibC.O_EXCL, 0600), "open");
            check(INSTANCE.unlink(shm), "unlink");
            check(INSTANCE.ftruncate(unlinked, GIB), "ftruncate");
            check(INSTANCE.fallocate(unlinked, 0, 4096, 8192), "fallocate");
            INSTANCE.close(unlinked);

            // A memfd sealed against growing: ftruncate fails with EPERM.
            int sealed = memfd("sealed", TestLibC.MFD_ALLOW_SEALING | TestLibC.MFD_CLOEXEC);
            check(INSTANCE.fcntl(sealed, TestLibC.F_ADD_SEALS, TestLibC.F_SEAL_GROW | TestLibC.F_SEAL_SHRINK), "fcntl");
            if (INSTANCE.ftruncate(sealed, GIB) != -1 || TestLibC.lastErrno() != Errnos.EPERM) {
                throw new IllegalStateException("ftruncate of a sealed memfd did not fail with EPERM");
            }
            // A hole punched into a memfd frees memory: not a request.
            check(INSTANCE.fallocate(sealed, TestLibC.FALLOC_FL_PUNCH_HOLE | TestLibC.FALLOC_FL_KEEP_SIZE, 0, 4096),
                    "fallocate");
            INSTANCE.close(sealed);

            // The control: one memfd request, the only one counted.
            int fd = memfd("control", TestLibC.MFD_CLOEXEC);
            check(INSTANCE.ftruncate(fd, 4096), "ftruncate");
            INSTANCE.close(fd);
        });

        assertEquals(1, run.countDelta(), "only the control is observed");
        assertEquals(4096, run.sumDelta());
        assertEquals(4096, run.commBytes());
    }

    @Test
    void theHistogramHasClassicAndNativeBucketsOverProtobuf() throws Exception {
        quietly("mfdproto", () -> {
            int fd = memfd("sizes", TestLibC.MFD_CLOEXEC);
            check(INSTANCE.ftruncate(fd, GIB), "ftruncate");
            INSTANCE.close(fd);
        });

        Metrics.Histogram histogram = null;
        try (InputStream in = new ByteArrayInputStream(Http.get(exporter.port(), "/metrics", Http.PROTOBUF).body())) {
            Metrics.MetricFamily family;
            while ((family = Metrics.MetricFamily.parseDelimitedFrom(in)) != null) {
                if (family.getName().equals(SIZE)) {
                    assertEquals(Metrics.MetricType.HISTOGRAM, family.getType());
                    histogram = family.getMetric(0).getHistogram();
                }
            }
        }
        assertTrue(histogram != null, SIZE + " is in the protobuf exposition");
        assertEquals(0, histogram.getSchema());
        assertEquals(0.0, histogram.getZeroThreshold());
        Map<Integer, Long> nativeBuckets = nativeBuckets(histogram);
        Map<Double, Long> classic = new TreeMap<>();
        histogram.getBucketList().forEach(bucket -> classic.put(bucket.getUpperBound(), bucket.getCumulativeCount()));
        assertEquals(43, classic.size(), "le=0, 2^0 .. 2^40 and +Inf");
        long inClassic = classic.get(Math.scalb(1.0, 30)) - classic.get(Math.scalb(1.0, 29));
        assertTrue(inClassic >= 1, "the 1 GiB request is in (2^29, 2^30]");
        assertEquals(inClassic, nativeBuckets.get(30), "native bucket 30 is (2^29, 2^30]");
        assertEquals(histogram.getSampleCount(), nativeBuckets.values().stream().mapToLong(Long::longValue).sum()
                + histogram.getZeroCount());
    }

    /** Native bucket index to count, decoded from the spans and delta-encoded counts. */
    private static Map<Integer, Long> nativeBuckets(Metrics.Histogram histogram) {
        Map<Integer, Long> buckets = new TreeMap<>();
        int index = 0;
        int delta = 0;
        long count = 0;
        for (Metrics.BucketSpan span : histogram.getPositiveSpanList()) {
            index += span.getOffset();
            for (int i = 0; i < span.getLength(); i++) {
                count += histogram.getPositiveDelta(delta++);
                buckets.put(index++, count);
            }
        }
        return buckets;
    }

    /** What one scenario changed: the comm's bytes and the host-wide histogram's deltas. */
    private record Observed(String comm, Exposition before, Exposition after) {
        long countDelta() {
            return (long) (after.value(SIZE + "_count") - before.value(SIZE + "_count"));
        }

        long sumDelta() {
            return (long) (after.value(SIZE + "_sum") - before.value(SIZE + "_sum"));
        }

        /** Observations in (2^(exponent-1), 2^exponent]. */
        long bucketDelta(int exponent) {
            return (long) (inBucket(after, exponent) - inBucket(before, exponent));
        }

        long commBytes() {
            return (long) after.value(BYTES, "comm", comm);
        }

        /** No other process resized a memfd meanwhile: all bytes are the comm's and none was a zero size. */
        boolean alone() {
            return sumDelta() == commBytes() && cumulative(after, 0) == cumulative(before, 0);
        }

        private static double inBucket(Exposition exposition, int exponent) {
            return cumulative(exposition, Math.scalb(1.0, exponent)) - cumulative(exposition, Math.scalb(1.0, exponent - 1));
        }

        private static double cumulative(Exposition exposition, double le) {
            return exposition.family(SIZE + "_bucket").stream()
                    .filter(sample -> Double.parseDouble(sample.labels().get("le")) == le)
                    .findFirst().orElseThrow(() -> new AssertionError("no bucket le=" + le)).value();
        }
    }

    /** Runs the calls on a thread with a fresh comm until no other process resized a memfd meanwhile. */
    private static Observed quietly(String commPrefix, Runnable calls) {
        for (int attempt = 0; attempt < 20; attempt++) {
            String comm = uniqueComm(commPrefix);
            Exposition before = Http.scrape(exporter.port());
            CommThreads.runAs(comm, calls);
            Observed run = new Observed(comm, before, Http.scrape(exporter.port()));
            if (run.alone()) {
                return run;
            }
        }
        throw new AssertionError("other processes kept resizing memfds; no quiet moment in 20 attempts");
    }
}
