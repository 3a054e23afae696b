package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static io.memfdexporter.testing.TestLibC.INSTANCE;
import static io.memfdexporter.testing.TestLibC.check;
import static io.memfdexporter.testing.TestLibC.memfd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * Every counter stays honest under rate() whatever a process does: byte sums
 * that a caller can push past 2^64 saturate instead of wrapping negative, and
 * comms moving in and out of the top never move history between series.
 */
@ExtendWith(RequiresBpf.class)
class CounterHonestyKernelTest {
    private static final long MAX_LENGTH = Long.MAX_VALUE; // 2^63 - 1: the most ftruncate accepts on a memfd
    private static final double U64_MAX = 1.8446744073709552E19; // 2^64 - 1 as a double
    private static final String SIZE = "memfd_requested_size_bytes";
    private static final String CALLS = "memfd_create_calls_total";
    private static final String FAILURES = "memfd_create_failures_total";
    private static final String BYTES = "memfd_requested_bytes_total";

    /**
     * One comm on one CPU requests 2^63-1 twice, then 1 (2^64-1 in all) and 5 more: its sum and the CPU's
     * histogram sum stop at 2^64-1 and the 5 bytes that did not fit are counted, the collector keeps working.
     */
    @Test
    void byteSumsPushedPast2To64SaturateAndCountWhatDidNotFit() {
        for (int attempt = 0; attempt < 5; attempt++) {
            try (Exporter exporter = Exporter.start(config().withMaxCommSeries(200))) {
                Exposition before = Http.scrape(exporter.port());
                String comm = uniqueComm("mfdsat");
                CommThreads.runAs(comm, () -> {
                    TestLibC.pinToCpu(0);
                    int first = memfd("huge", TestLibC.MFD_CLOEXEC);
                    int second = memfd("huge", TestLibC.MFD_CLOEXEC);
                    check(INSTANCE.ftruncate(first, MAX_LENGTH), "ftruncate");
                    check(INSTANCE.ftruncate(second, MAX_LENGTH), "ftruncate");
                    check(INSTANCE.ftruncate(first, 1), "ftruncate"); // the sums are now 2^64 - 1 exactly
                    check(INSTANCE.ftruncate(second, 5), "ftruncate"); // 5 bytes too many
                    INSTANCE.close(first);
                    INSTANCE.close(second);
                });
                Exposition after = Http.scrape(exporter.port());
                if (after.value(SIZE + "_count") - before.value(SIZE + "_count") != 4) {
                    continue; // another process resized a memfd meanwhile: its bytes would be in the sums too
                }
                assertEquals(1, after.value("memfd_exporter_collector_success", "collector", "sizes"));
                assertEquals(U64_MAX, after.value(BYTES, "comm", comm));
                assertEquals(5, after.value("memfd_requested_unrecorded_bytes_total") - before.value("memfd_requested_unrecorded_bytes_total"),
                        "the bytes the comm's saturated sum could not add");
                assertEquals(U64_MAX, after.value(SIZE + "_sum"));
                assertEquals(5, after.value("memfd_requested_size_unsummed_bytes_total"),
                        "the bytes CPU 0's saturated histogram sum could not add");
                assertEquals(2, after.value(SIZE + "_bucket", "le", "+Inf") - after.value(SIZE + "_bucket", "le", "1.099511627776E12"),
                        "the two 2^63-1 requests, beyond the largest classic bucket");
                assertNoNegativeValue(after);
                System.out.printf("saturated: %s{comm=%s} %s, _sum %s, unrecorded +%s, unsummed %s%n", BYTES, comm,
                        after.value(BYTES, "comm", comm), after.value(SIZE + "_sum"),
                        after.value("memfd_requested_unrecorded_bytes_total") - before.value("memfd_requested_unrecorded_bytes_total"),
                        after.value("memfd_requested_size_unsummed_bytes_total"));
                // Stays saturated, never wraps: more requests leave it at 2^64-1 and count what did not fit.
                CommThreads.runAs(comm, () -> {
                    int fd = memfd("huge", TestLibC.MFD_CLOEXEC);
                    check(INSTANCE.ftruncate(fd, MAX_LENGTH), "ftruncate");
                    INSTANCE.close(fd);
                });
                Exposition later = Http.scrape(exporter.port());
                assertEquals(1, later.value("memfd_exporter_collector_success", "collector", "sizes"));
                assertEquals(U64_MAX, later.value(BYTES, "comm", comm));
                assertEquals(5 + (double) MAX_LENGTH, later.value("memfd_requested_unrecorded_bytes_total")
                        - before.value("memfd_requested_unrecorded_bytes_total"));
                assertNoNegativeValue(later);
                return;
            }
        }
        throw new AssertionError("other processes kept resizing memfds; no quiet moment in 5 attempts");
    }

    /** The case with --collector.max-comms=2: B keeps its series when C climbs past it, (other) grows by C's calls only. */
    @Test
    void aCommLeavingTheTopKeepsItsSeriesAndOtherGrowsOnlyByWhatFoldedCommsDid() {
        try (Exporter exporter = Exporter.start(config().withMaxCommSeries(2))) {
            String a = uniqueComm("mfdA");
            String b = uniqueComm("mfdB");
            String c = uniqueComm("mfdC");
            String d = uniqueComm("mfdD");
            CommThreads.runAs(a, CommThreads.calls(50, TestLibC.MFD_CLOEXEC));
            CommThreads.runAs(b, CommThreads.calls(40, TestLibC.MFD_CLOEXEC));
            CommThreads.runAs(c, CommThreads.calls(1, TestLibC.MFD_CLOEXEC));
            CommThreads.runAs(d, CommThreads.calls(1, TestLibC.MFD_CLOEXEC));
            Exposition first = Http.scrape(exporter.port());
            assertEquals(50, first.value(CALLS, "comm", a));
            assertEquals(40, first.value(CALLS, "comm", b));
            assertEquals(3, first.family(CALLS).size(), "A, B and (other): " + first.family(CALLS));
            assertEquals(first.value("memfd_create_observed_calls_total") - 90, first.value(CALLS, "comm", "(other)"),
                    "(other) holds C, D and whatever else called memfd_create since the exporter started");

            CommThreads.runAs(c, CommThreads.calls(100, TestLibC.MFD_CLOEXEC));
            Exposition second = Http.scrape(exporter.port());
            assertEquals(50, second.value(CALLS, "comm", a));
            assertEquals(40, second.value(CALLS, "comm", b), "B keeps its series and its count");
            assertEquals(3, second.family(CALLS).size(), "C (101 calls) has no series of its own: " + second.family(CALLS));
            double otherIncrease = second.value(CALLS, "comm", "(other)") - first.value(CALLS, "comm", "(other)");
            double observedIncrease = second.value("memfd_create_observed_calls_total") - first.value("memfd_create_observed_calls_total");
            assertEquals(observedIncrease, otherIncrease, "(other) grows by exactly the calls made since, none of B's");
            assertTrue(otherIncrease >= 100 && otherIncrease < 139, "C's 100 calls (and host noise), not B's 40 on top: " + otherIncrease);
            System.out.printf("A/B/C/D: A %s, B %s -> %s, (other) %s -> %s (+%s; observed +%s)%n",
                    second.value(CALLS, "comm", a), first.value(CALLS, "comm", b), second.value(CALLS, "comm", b),
                    first.value(CALLS, "comm", "(other)"), second.value(CALLS, "comm", "(other)"), otherIncrease, observedIncrease);
        }
    }

    /**
     * 30 comms with random call, failure and size counts over 10 scrapes, 5 series per family: every series of every
     * per-comm family only grows and never disappears, and each family sums to the observed total at every scrape.
     */
    @Test
    void randomCommsMovingThroughTheTopNeverMakeASeriesShrinkOrVanish() {
        Random random = new Random(10);
        List<String> comms = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            comms.add(uniqueComm("mfdr" + i + "_"));
        }
        Map<String, Integer> calls = new HashMap<>();
        try (Exporter exporter = Exporter.start(config().withMaxCommSeries(5))) {
            Exposition previous = Http.scrape(exporter.port());
            int moves = 0;
            List<String> lastTop = List.of();
            for (int scrape = 0; scrape < 10; scrape++) {
                List<CommThreads.Task> tasks = new ArrayList<>();
                for (String comm : comms) {
                    if (random.nextInt(3) == 0) {
                        continue; // idle this round
                    }
                    int n = random.nextInt(1 + 10 * scrape);
                    int failures = random.nextInt(3);
                    long size = 1L + random.nextInt(1 << 20);
                    calls.merge(comm, n + failures + 1, Integer::sum); // failed calls and the sized memfd are calls too
                    tasks.add(new CommThreads.Task(comm, () -> {
                        CommThreads.calls(n, TestLibC.MFD_CLOEXEC).run();
                        for (int f = 0; f < failures; f++) {
                            TestLibC.memfdCreateAndClose("t", 0x40); // undefined flag: EINVAL
                        }
                        int fd = memfd("sized", TestLibC.MFD_CLOEXEC);
                        check(INSTANCE.ftruncate(fd, size), "ftruncate");
                        INSTANCE.close(fd);
                    }));
                }
                CommThreads.runAllAs(tasks);
                Exposition now = Http.scrape(exporter.port());
                String context = "scrape " + scrape;
                for (String family : List.of(CALLS, FAILURES, BYTES)) {
                    assertTrue(now.family(family).size() <= (family.equals(FAILURES) ? 6 * 2 : 6),
                            family + " is bounded: " + now.family(family));
                    for (Exposition.Sample series : previous.family(family)) {
                        double value = now.value(family, flatten(series.labels()));
                        assertTrue(now.family(family).stream().anyMatch(s -> s.labels().equals(series.labels())),
                                family + series.labels() + " disappeared at " + context);
                        assertTrue(value >= series.value(), family + series.labels() + " went down at " + context);
                    }
                }
                assertEquals(now.value("memfd_create_observed_calls_total"), now.sum(CALLS)
                        + now.value("memfd_create_unrecorded_total", "map", "calls_by_comm"), context);
                assertEquals(now.value("memfd_create_observed_failures_total"), now.sum(FAILURES)
                        + now.value("memfd_create_unrecorded_total", "map", "failures_by_comm"), context);
                assertEquals(now.value(SIZE + "_sum") + now.value("memfd_requested_size_unsummed_bytes_total"),
                        now.sum(BYTES) + now.value("memfd_requested_unrecorded_bytes_total"), context);
                assertNoNegativeValue(now);
                for (String comm : comms) {
                    boolean shown = now.family(CALLS).stream().anyMatch(s -> comm.equals(s.labels().get("comm")));
                    if (shown) {
                        assertEquals(calls.get(comm), (int) now.value(CALLS, "comm", comm), comm + " at " + context);
                    }
                }
                List<String> top = topFive(comms, calls);
                moves += top.equals(lastTop) ? 0 : 1;
                lastTop = top;
                previous = now;
            }
            assertEquals(6, previous.family(CALLS).size(), "5 comms and (other)");
            Exposition last = previous;
            long oursShown = comms.stream().filter(comm -> last.family(CALLS).stream()
                    .anyMatch(s -> comm.equals(s.labels().get("comm")))).count();
            double folded = last.value("memfd_exporter_folded_comms", "family", CALLS);
            assertTrue(folded >= calls.size() - oursShown, "every active comm of ours without a series is folded: " + folded);
            assertTrue(moves >= 3, "comms did move through the top 5 by calls: " + moves);
            System.out.printf("random run: top 5 by calls changed %d times in 10 scrapes; %d of our comms shown, %s comms"
                    + " folded in %s%n", moves, oursShown, folded, CALLS);
        }
    }

    /* The 5 comms with the most calls so far, largest first. */
    private static List<String> topFive(List<String> comms, Map<String, Integer> calls) {
        return comms.stream().filter(calls::containsKey)
                .sorted((x, y) -> Integer.compare(calls.get(y), calls.get(x))).limit(5).sorted().toList();
    }

    private static String[] flatten(Map<String, String> labels) {
        List<String> pairs = new ArrayList<>();
        labels.forEach((name, value) -> {
            pairs.add(name);
            pairs.add(value);
        });
        return pairs.toArray(String[]::new);
    }

    private static void assertNoNegativeValue(Exposition exposition) {
        for (Exposition.Sample sample : exposition.samples()) {
            assertTrue(sample.value() >= 0, "negative: " + sample);
        }
    }

    private static Exporter.Config config() {
        return Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0));
    }
}
