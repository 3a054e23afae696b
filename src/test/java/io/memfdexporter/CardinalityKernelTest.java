package io.memfdexporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.WebConfig;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/** An attacker spraying random comm names cannot explode Prometheus, and no call goes uncounted. */
@ExtendWith(RequiresBpf.class)
class CardinalityKernelTest {
    private static final int DISTINCT_COMMS = 20_000;
    private static final int MAX_SERIES = 50;

    @Test
    void twentyThousandCommsExportAtMostTheCapAndKeepExactTotals() {
        Exporter.Config config = Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)).withMaxCommSeries(MAX_SERIES);
        try (Exporter exporter = Exporter.start(config)) {
            Exposition before = Http.scrape(exporter.port());
            CommThreads.runAs("mfdspray", () -> {
                for (int i = 0; i < DISTINCT_COMMS; i++) {
                    byte[] name = ("spray" + i + "\0").getBytes(StandardCharsets.US_ASCII);
                    TestLibC.INSTANCE.prctl(TestLibC.PR_SET_NAME, name, 0, 0, 0);
                    TestLibC.memfdCreateAndClose("t", TestLibC.MFD_CLOEXEC);
                }
            });
            Exposition after = Http.scrape(exporter.port());

            assertEquals(MAX_SERIES + 1, after.family("memfd_create_calls_total").size(), "the cap plus (other)");
            assertTrue(after.value("memfd_create_calls_total", "comm", "(other)") > 0);
            assertEquals(MemfdProbe.DEFAULT_MAX_COMMS, after.value("memfd_exporter_bpf_map_entries", "map", "calls_by_comm"),
                    "the kernel map is full");
            double observed = after.value("memfd_create_observed_calls_total") - before.value("memfd_create_observed_calls_total");
            assertEquals(DISTINCT_COMMS, observed);
            assertEquals(after.value("memfd_create_observed_calls_total"), after.sum("memfd_create_calls_total")
                    + after.value("memfd_create_unrecorded_total", "map", "calls_by_comm"), "totals stay exact");
            double seconds = after.value("memfd_exporter_collector_duration_seconds", "collector", "memfd");
            System.out.printf("memfd collector with %d kernel keys: %.1f ms%n", MemfdProbe.DEFAULT_MAX_COMMS, seconds * 1000);
            assertTrue(seconds < 2.0, "a scrape of a full map stays fast, took " + seconds + " s");
        }
    }
}
