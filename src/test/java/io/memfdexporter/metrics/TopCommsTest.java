package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.junit.jupiter.api.Test;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.SlotCounts;

class TopCommsTest {
    private static final String OTHER = TopComms.OTHER;

    /** The case: B must keep its series and (other) must not jump when C climbs past it. */
    @Test
    void aCommThatGotASeriesKeepsItAndOtherOnlyGetsWhatTheFoldedCommsDid() {
        TopComms top = new TopComms(2);
        Map<CommKey, Long> counts = new HashMap<>(Map.of(comm("A"), 50L, comm("B"), 40L, comm("C"), 1L, comm("D"), 1L));
        assertEquals(Map.of("A", 50L, "B", 40L, OTHER, 2L), fold(top, counts));
        assertEquals(2, top.lastFolded());

        counts.put(comm("C"), 101L);
        assertEquals(Map.of("A", 50L, "B", 40L, OTHER, 102L), fold(top, counts));
        counts.put(comm("E"), 1_000L); // new once the slots are full: folded for good, however large
        assertEquals(Map.of("A", 50L, "B", 40L, OTHER, 1_102L), fold(top, counts));
        assertEquals(3, top.lastFolded());
    }

    @Test
    void newCommsTakeTheFreeSlotsLargestFirstTiesByLabel() {
        TopComms top = new TopComms(3);
        assertEquals(Map.of("x", 1L), fold(top, Map.of(comm("x"), 1L)), "no (other) while nothing is folded");
        assertEquals(0, top.lastFolded());
        // Two slots left for a, b, c, d: b (9) first, then a and c tie at 5, a wins by label.
        Map<CommKey, Long> counts = Map.of(comm("x"), 1L, comm("a"), 5L, comm("b"), 9L, comm("c"), 5L, comm("d"), 1L);
        assertEquals(Map.of("x", 1L, "b", 9L, "a", 5L, OTHER, 6L), fold(top, counts));
    }

    @Test
    void aCommNamedOtherIsSummedWithTheRestEvenWithSlotsFree() {
        TopComms top = new TopComms(5);
        assertEquals(Map.of("a", 5L, OTHER, 8L), fold(top, Map.of(comm("a"), 5L, comm("(other)"), 8L)));
        assertEquals(1, top.lastFolded());
        assertEquals(Map.of("a", 5L, "b", 1L, OTHER, 9L), fold(top, Map.of(comm("a"), 5L, comm("(other)"), 9L, comm("b"), 1L)));
    }

    @Test
    void commsSharingALabelAreOneSeriesRankedByTheirSum() {
        // Byte 0x01 and the four characters "\x01" share a label; together they outrank "b".
        Map<CommKey, Long> counts = new HashMap<>(Map.of(new CommKey(new byte[] {1}), 3L, comm("\\x01"), 3L, comm("b"), 5L,
                new CommKey(new byte[0]), 1L, comm("(empty)"), 1L));
        assertEquals(Map.of("\\x01", 6L, OTHER, 7L), fold(new TopComms(1), counts));
        assertEquals(Map.of("\\x01", 6L, "b", 5L, "(empty)", 2L), fold(new TopComms(3), counts));

        // Once the label has a series, a comm spelling it in ASCII joins it; the empty comm joins "(empty)".
        TopComms top = new TopComms(2);
        assertEquals(Map.of("\\x01", 3L, "b", 5L), fold(top, Map.of(new CommKey(new byte[] {1}), 3L, comm("b"), 5L)));
        assertEquals(Map.of("\\x01", 3L + 4, "b", 5L, OTHER, 1L),
                fold(top, Map.of(new CommKey(new byte[] {1}), 3L, comm("b"), 5L, comm("\\x01"), 4L, comm("c"), 1L)));
    }

    @Test
    void countsAreUnsignedAndSumsSaturate() {
        long big = Long.MIN_VALUE + 5; // 2^63 + 5 as a u64: the largest here
        TopComms top = new TopComms(1);
        assertEquals(Map.of("big", big, OTHER, 7L), fold(top, Map.of(comm("big"), big, comm("small"), 7L)));
        assertEquals(Map.of("big", big, OTHER, U64.MAX),
                fold(top, Map.of(comm("big"), big, comm("small"), 7L, comm("huge1"), big, comm("huge2"), big)));
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
     * Growing slot tables scraped again and again, hostile comms and slots lost to races included: the fold, which
     * decides each slot once, is what the rule gives when every comm is labelled first at every scrape, and every
     * series only grows, never disappears, and the family sums to the table's total.
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
            GrowingTable table = new GrowingTable(random);
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
                Map<String, Long> folded = byComm(top.fold(table.read(counts), CommLabel::of, key -> ""));
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

    /** Folds plain counts: a fresh slot table at every call, so every slot is decided anew from the labels' decisions. */
    private static Map<String, Long> fold(TopComms top, Map<CommKey, Long> counts) {
        return byComm(top.fold(SlotCounts.of(counts), CommLabel::of, key -> ""));
    }

    private static Map<String, Long> byComm(Map<TopComms.Row<String>, Long> rows) {
        Map<String, Long> byComm = new HashMap<>();
        rows.forEach((row, count) -> assertNull(byComm.put(row.comm(), count), "two rows for " + row.comm()));
        return byComm;
    }

    private static Map<TopComms.Row<String>, Long> foldRows(TopComms top, Map<String, Long> counts) {
        return top.fold(SlotCounts.of(counts), key -> key.split("/")[0], key -> key.split("/")[1]);
    }

    /** A slot table as the kernel grows one: a new key takes the next slot for good; now and then a race wastes one. */
    private static final class GrowingTable {
        private final Random random;
        private final Map<CommKey, Integer> slots = new HashMap<>();
        private final AtomicReferenceArray<CommKey> keys = new AtomicReferenceArray<>(4096);
        private int taken;

        GrowingTable(Random random) {
            this.random = random;
        }

        SlotCounts<CommKey> read(Map<CommKey, Long> counts) {
            counts.keySet().forEach(key -> slots.computeIfAbsent(key, unused -> {
                if (random.nextInt(10) == 0) {
                    taken++; // lost to a race: no key, a count of 0 for good
                }
                keys.set(taken, key);
                return taken++;
            }));
            long[] bySlot = new long[taken];
            counts.forEach((key, count) -> bySlot[slots.get(key)] = count);
            return new SlotCounts<>(bySlot, keys);
        }
    }

    private static TopComms.Row<String> row(String comm, String other) {
        return new TopComms.Row<>(comm, other);
    }

    private static CommKey comm(String name) {
        return new CommKey(name.getBytes(StandardCharsets.US_ASCII));
    }
}
