package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.WebConfig;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/** A full per-comm map loses no call: what it cannot hold is counted, and the totals stay exact. */
@ExtendWith(RequiresBpf.class)
class MapFullKernelTest {
    private static final int CAPACITY = 4;

    @Test
    void unrecordedCallsAndFailuresKeepTheSumsExact() {
        Exporter.Config config = Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)).withMaxComms(CAPACITY);
        try (Exporter exporter = Exporter.start(config)) {
            // Sequential threads: the first CAPACITY comms get the entries (on a host where nothing
            // else calls memfd_create meanwhile; the invariants below hold either way).
            List<String> comms = new ArrayList<>();
            int expectedUnrecorded = 0;
            for (int i = 0; i < 10; i++) {
                String comm = uniqueComm("mfdfull" + i);
                comms.add(comm);
                int n = i + 1;
                CommThreads.runAs(comm, () -> {
                    calls(n, TestLibC.MFD_CLOEXEC).run();
                    TestLibC.memfdCreateAndClose("t", 0x20); // one EINVAL each
                });
                if (i >= CAPACITY) {
                    expectedUnrecorded += n + 1;
                }
            }
            Exposition metrics = stableScrape(exporter.port(), "memfd_create_observed_calls_total");

            assertEquals(CAPACITY, metrics.value("memfd_exporter_bpf_map_entries", "map", "calls_by_comm"));
            assertEquals(CAPACITY, metrics.value("memfd_exporter_bpf_map_capacity", "map", "calls_by_comm"));
            for (int i = 0; i < CAPACITY; i++) {
                assertEquals(i + 2, metrics.value("memfd_create_calls_total", "comm", comms.get(i)), comms.get(i));
            }
            for (String unrecordedComm : comms.subList(CAPACITY, comms.size())) {
                assertEquals(0, metrics.family("memfd_create_calls_total").stream()
                        .filter(s -> s.labels().get("comm").equals(unrecordedComm)).count(), "not recorded: " + unrecordedComm);
            }
            double observed = metrics.value("memfd_create_observed_calls_total");
            double unrecorded = metrics.value("memfd_create_unrecorded_total", "map", "calls_by_comm");
            assertEquals(65, observed, "1+2+...+10 successful calls and 10 failures");
            assertEquals(expectedUnrecorded, unrecorded);
            assertEquals(observed, metrics.sum("memfd_create_calls_total") + unrecorded, "per-comm sum + unrecorded == total");
            assertEquals(observed, metrics.sum("memfd_create_calls_by_flags_total"), "per-flag sum == total");
            assertEquals(0, metrics.value("memfd_create_unrecorded_total", "map", "calls_by_flags"));

            double failures = metrics.value("memfd_create_observed_failures_total");
            double unrecordedFailures = metrics.value("memfd_create_unrecorded_total", "map", "failures_by_comm");
            assertEquals(10, failures);
            assertEquals(10 - CAPACITY, unrecordedFailures);
            assertEquals(failures, metrics.sum("memfd_create_failures_total") + unrecordedFailures);
        }
    }

    @Test
    void requestedBytesOfUnrecordedCommsStayInTheHistogramSum() {
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)).withMaxComms(CAPACITY))) {
            Map<String, Long> requested = new LinkedHashMap<>();
            for (int i = 0; i < 10; i++) {
                long size = (i + 1) * 4096L;
                String comm = uniqueComm("mfdsize" + i);
                requested.put(comm, size);
                CommThreads.runAs(comm, () -> {
                    int fd = TestLibC.memfd("full", TestLibC.MFD_CLOEXEC);
                    TestLibC.check(TestLibC.INSTANCE.ftruncate(fd, size), "ftruncate");
                    TestLibC.INSTANCE.close(fd);
                });
            }
            Exposition metrics = stableScrape(exporter.port(), "memfd_requested_size_bytes_count");

            assertEquals(CAPACITY, metrics.value("memfd_exporter_bpf_map_entries", "map", "requested_bytes_by_comm"));
            long unrecordedOfOurs = 0;
            for (Map.Entry<String, Long> comm : requested.entrySet()) {
                double bytes = metrics.value("memfd_requested_bytes_total", "comm", comm.getKey());
                if (bytes == 0) {
                    unrecordedOfOurs += comm.getValue();
                } else {
                    assertEquals(comm.getValue().doubleValue(), bytes, comm.getKey());
                }
            }
            // Our first CAPACITY comms got the entries on a quiet host; the invariant holds either way.
            double unrecorded = metrics.value("memfd_requested_unrecorded_bytes_total");
            assertTrue(unrecordedOfOurs >= (5 + 6 + 7 + 8 + 9 + 10) * 4096L, "at least the last 6 comms are unrecorded");
            assertTrue(unrecorded >= unrecordedOfOurs, "every unrecorded byte of ours is counted");
            assertEquals(metrics.value("memfd_requested_size_bytes_sum"),
                    metrics.sum("memfd_requested_bytes_total") + unrecorded, "per-comm sum + unrecorded == histogram sum");
        }
    }

    /** Two consecutive scrapes with the same value of a total: the maps were not changing while read. */
    private static Exposition stableScrape(int port, String total) {
        Exposition previous = Http.scrape(port);
        for (int attempt = 0; attempt < 50; attempt++) {
            Exposition next = Http.scrape(port);
            if (next.value(total) == previous.value(total)) {
                return next;
            }
            previous = next;
        }
        throw new AssertionError("activity on this host never paused for a consistent read of " + total);
    }
}
