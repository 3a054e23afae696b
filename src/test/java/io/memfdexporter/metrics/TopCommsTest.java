package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.CommKey;

class TopCommsTest {
    private static final String OTHER = TopComms.OTHER;

    /** The case: B must keep its series and (other) must not jump when C climbs past it. */
    @Test
    void aCommThatGotASeriesKeepsItAndOtherOnlyGetsWhatTheFoldedCommsDid() {
        TopComms top = new TopComms(2);
        Map<CommKey, Long> counts = new HashMap<>(Map.of(comm("A"), 50L, comm("B"), 40L, comm("C"), 1L, comm("D"), 1L));
        assertEquals(Map.of("A", 50L, "B", 40L, OTHER, 2L), top.fold(counts));
        assertEquals(2, top.lastFolded());

        counts.put(comm("C"), 101L);
        assertEquals(Map.of("A", 50L, "B", 40L, OTHER, 102L), top.fold(counts));
        counts.put(comm("E"), 1_000L); // new once the slots are full: folded for good, however large
        assertEquals(Map.of("A", 50L, "B", 40L, OTHER, 1_102L), top.fold(counts));
        assertEquals(3, top.lastFolded());
    }

    @Test
    void newCommsTakeTheFreeSlotsLargestFirstTiesByLabel() {
        TopComms top = new TopComms(3);
        assertEquals(Map.of("x", 1L), top.fold(Map.of(comm("x"), 1L)), "no (other) while nothing is folded");
        assertEquals(0, top.lastFolded());
        // Two slots left for a, b, c, d: b (9) first, then a and c tie at 5, a wins by label.
        Map<CommKey, Long> counts = Map.of(comm("x"), 1L, comm("a"), 5L, comm("b"), 9L, comm("c"), 5L, comm("d"), 1L);
        assertEquals(Map.of("x", 1L, "b", 9L, "a", 5L, OTHER, 6L), top.fold(counts));
    }

    @Test
    void aCommNamedOtherIsSummedWithTheRestEvenWithSlotsFree() {
        TopComms top = new TopComms(5);
        assertEquals(Map.of("a", 5L, OTHER, 8L), top.fold(Map.of(comm("a"), 5L, comm("(other)"), 8L)));
        assertEquals(1, top.lastFolded());
        assertEquals(Map.of("a", 5L, "b", 1L, OTHER, 9L), top.fold(Map.of(comm("a"), 5L, comm("(other)"), 9L, comm("b"), 1L)));
    }

    @Test
    void commsSharingALabelAreOneSeriesRankedByTheirSum() {
        // Byte 0x01 and the four characters "\x01" share a label; together they outrank "b".
        Map<CommKey, Long> counts = new HashMap<>(Map.of(new CommKey(new byte[] {1}), 3L, comm("\\x01"), 3L, comm("b"), 5L,
                new CommKey(new byte[0]), 1L, comm("(empty)"), 1L));
        assertEquals(Map.of("\\x01", 6L, OTHER, 7L), new TopComms(1).fold(counts));
        assertEquals(Map.of("\\x01", 6L, "b", 5L, "(empty)", 2L), new TopComms(3).fold(counts));

        // Once the label has a series, a comm spelling it in ASCII joins it; the empty comm joins "(empty)".
        TopComms top = new TopComms(2);
        assertEquals(Map.of("\\x01", 3L, "b", 5L), top.fold(Map.of(new CommKey(new byte[] {1}), 3L, comm("b"), 5L)));
        assertEquals(Map.of("\\x01", 3L + 4, "b", 5L, OTHER, 1L),
                top.fold(Map.of(new CommKey(new byte[] {1}), 3L, comm("b"), 5L, comm("\\x01"), 4L, comm("c"), 1L)));
    }

    @Test
    void countsAreUnsignedAndSumsSaturate() {
        long big = Long.MIN_VALUE + 5; // 2^63 + 5 as a u64: the largest here
        TopComms top = new TopComms(1);
        assertEquals(Map.of("big", big, OTHER, 7L), top.fold(Map.of(comm("big"), big, comm("small"), 7L)));
        assertEquals(Map.of("big", big, OTHER, U64.MAX),
                top.fold(Map.of(comm("big"), big, comm("small"), 7L, comm("huge1"), big, comm("huge2"), big)));
        assertEquals(1.8446744073709552E19, U64.toDouble(U64.MAX));
        assertEquals(9.223372036854775808E18, U64.toDouble(Long.MIN_VALUE));
        assertEquals((double) Long.MAX_VALUE, U64.toDouble(Long.MAX_VALUE));
        assertEquals(U64.MAX, U64.add(Long.MIN_VALUE, Long.MIN_VALUE));
        assertEquals(U64.MAX, U64.add(U64.MAX - 1, 1));
        assertEquals(Long.MIN_VALUE, U64.add(Long.MAX_VALUE, 1), "2^63 is no overflow for a u64");
    }

    @Test
    void rowsWithASecondLabelDecideByCommAndKeepOneOtherRowPerValue() {
        TopComms top = new TopComms(1);
        Map<String, Long> counts = new HashMap<>(Map.of("a/EINVAL", 3L, "a/EMFILE", 4L, "b/EINVAL", 5L, "c/EMFILE", 1L));
        assertEquals(Map.of(row("a", "EINVAL"), 3L, row("a", "EMFILE"), 4L, row(OTHER, "EINVAL"), 5L, row(OTHER, "EMFILE"), 1L),
                foldRows(top, counts), "a's total, 7, beats b's 5");
        assertEquals(2, top.lastFolded());
        counts.put("b/EINVAL", 50L);
        counts.put("d/ENOMEM", 2L);
        assertEquals(Map.of(row("a", "EINVAL"), 3L, row("a", "EMFILE"), 4L, row(OTHER, "EINVAL"), 50L, row(OTHER, "EMFILE"), 1L,
                row(OTHER, "ENOMEM"), 2L), foldRows(top, counts));
        assertEquals(3, top.lastFolded());
    }

    /**
     * Growing maps scraped again and again, hostile comms included: the fold is what the rule gives when every comm
     * is labelled first, and every series only grows, never disappears, and the family sums to the map's total.
     */
    @Test
    void agreesWithTheStickyRuleAppliedToLabelledCommsAndEverySeriesOnlyGrows() {
        Random random = new Random(42);
        for (int round = 0; round < 300; round++) {
            int limit = 1 + random.nextInt(12);
            boolean hostile = random.nextBoolean();
            TopComms top = new TopComms(limit);
            Reference reference = new Reference(limit);
            Map<CommKey, Long> counts = new HashMap<>();
            Map<String, Long> previous = Map.of();
            for (int scrape = 0; scrape < 10; scrape++) {
                int calls = random.nextInt(30);
                for (int i = 0; i < calls; i++) {
                    byte[] bytes = new byte[random.nextInt(3)];
                    for (int j = 0; j < bytes.length; j++) {
                        bytes[j] = hostile && random.nextInt(8) == 0 ? (byte) random.nextInt(256) : (byte) ('a' + random.nextInt(5));
                    }
                    if (bytes.length == 0 && !hostile) {
                        bytes = "(other)".getBytes(StandardCharsets.US_ASCII);
                    }
                    counts.merge(CommKey.read(java.nio.ByteBuffer.wrap(java.util.Arrays.copyOf(bytes, CommKey.SIZE))),
                            1L + random.nextInt(4), Long::sum);
                }
                Map<String, Long> folded = top.fold(counts);
                String context = "round " + round + " scrape " + scrape + ", limit " + limit + ": " + counts;
                assertEquals(reference.fold(counts), folded, context);
                assertEquals(reference.folded, top.lastFolded(), context);
                assertTrue(folded.size() <= limit + 1, context);
                assertEquals(counts.values().stream().mapToLong(Long::longValue).sum(),
                        folded.values().stream().mapToLong(Long::longValue).sum(), context);
                for (Map.Entry<String, Long> series : previous.entrySet()) {
                    assertTrue(folded.containsKey(series.getKey()), series.getKey() + " disappeared, " + context);
                    assertTrue(folded.get(series.getKey()) >= series.getValue(), series.getKey() + " went down, " + context);
                }
                previous = folded;
            }
        }
    }

    /** The rule written the slow and obvious way: label every comm, then decide the new labels. */
    private static final class Reference {
        private final int limit;
        private final Set<String> shown = new HashSet<>();
        int folded;

        Reference(int limit) {
            this.limit = limit;
        }

        Map<String, Long> fold(Map<CommKey, Long> counts) {
            Map<String, Long> byLabel = new HashMap<>();
            counts.forEach((comm, count) -> byLabel.merge(CommLabel.of(comm), count, U64::add));
            List<Map.Entry<String, Long>> fresh = new ArrayList<>(byLabel.entrySet().stream()
                    .filter(entry -> !shown.contains(entry.getKey()) && !entry.getKey().equals(OTHER)).toList());
            fresh.sort(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
            for (Map.Entry<String, Long> entry : fresh) {
                if (shown.size() < limit) {
                    shown.add(entry.getKey());
                }
            }
            Map<String, Long> expected = new HashMap<>();
            folded = 0;
            byLabel.forEach((label, count) -> {
                if (shown.contains(label)) {
                    expected.put(label, count);
                } else {
                    expected.merge(OTHER, count, U64::add);
                    folded++;
                }
            });
            return expected;
        }
    }

    private static Map<TopComms.Row<String>, Long> foldRows(TopComms top, Map<String, Long> counts) {
        return top.foldRows(counts, key -> key.split("/")[0], key -> key.split("/")[1]);
    }

    private static TopComms.Row<String> row(String comm, String other) {
        return new TopComms.Row<>(comm, other);
    }

    private static CommKey comm(String name) {
        return new CommKey(name.getBytes(StandardCharsets.US_ASCII));
    }
}
