package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.memfdexporter.probe.CommKey;

class TopCommsTest {
    @Test
    void keepsTheLargestCountsAndBreaksTiesByLabel() {
        Map<String, Long> counts = Map.of("a", 5L, "b", 9L, "c", 5L, "d", 1L, "e", 7L);
        assertEquals(Set.of("b", "e", "a"), TopComms.top(counts, 3));
        assertEquals(Set.of("b"), TopComms.top(counts, 1));
        assertEquals(counts.keySet(), TopComms.top(counts, 5));
    }

    @Test
    void sumsWhatIsNotShownAndJoinsACommNamedOtherWithIt() {
        Map<CommKey, Long> counts = Map.of(comm("a"), 5L, comm("b"), 9L, comm("(other)"), 8L, comm("d"), 1L);
        assertEquals(Map.of("b", 9L, "(other)", 8L + 5 + 1), TopComms.countsByLabel(counts, 2));
        assertEquals(Map.of("b", 9L, "(other)", 8L + 5 + 1), TopComms.countsByLabel(counts, 1));
        assertEquals(Map.of("a", 5L, "b", 9L, "(other)", 8L, "d", 1L), TopComms.countsByLabel(counts, 4));
    }

    @Test
    void commsSharingALabelAreRankedByTheirSum() {
        // Byte 0x01 and the four characters "\x01" share a label; together they outrank "b".
        Map<CommKey, Long> counts = Map.of(new CommKey(new byte[] {1}), 3L, comm("\\x01"), 3L, comm("b"), 5L,
                new CommKey(new byte[0]), 1L, comm("(empty)"), 1L);
        assertEquals(Map.of("\\x01", 6L, "(other)", 7L), TopComms.countsByLabel(counts, 1));
        assertEquals(Map.of("\\x01", 6L, "b", 5L, "(empty)", 2L), TopComms.countsByLabel(counts, 3));
    }

    /** Both ways of ranking (by raw key for printable comms, by label otherwise) give what labelling everything gives. */
    @Test
    void agreesWithLabellingEveryCommFirst() {
        Random random = new Random(42);
        for (int round = 0; round < 500; round++) {
            Map<CommKey, Long> counts = new HashMap<>();
            int size = random.nextInt(60);
            boolean hostile = random.nextBoolean();
            for (int i = 0; i < size; i++) {
                byte[] bytes = new byte[1 + random.nextInt(3)];
                for (int j = 0; j < bytes.length; j++) {
                    bytes[j] = hostile && random.nextInt(8) == 0 ? (byte) random.nextInt(256) : (byte) ('a' + random.nextInt(4));
                }
                counts.merge(new CommKey(bytes), 1L + random.nextInt(5), Long::sum); // few distinct counts: many ties
            }
            int limit = 1 + random.nextInt(20);
            assertEquals(reference(counts, limit), TopComms.countsByLabel(counts, limit), counts + ", limit " + limit);
        }
    }

    private static Map<String, Long> reference(Map<CommKey, Long> counts, int limit) {
        Map<String, Long> byLabel = new HashMap<>();
        counts.forEach((comm, count) -> byLabel.merge(CommLabel.of(comm), count, Long::sum));
        List<Map.Entry<String, Long>> ranked = new ArrayList<>(byLabel.entrySet());
        ranked.sort(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Long> expected = new HashMap<>();
        for (int i = 0; i < ranked.size(); i++) {
            expected.merge(i < limit ? ranked.get(i).getKey() : TopComms.OTHER, ranked.get(i).getValue(), Long::sum);
        }
        return expected;
    }

    private static CommKey comm(String name) {
        return new CommKey(name.getBytes(StandardCharsets.US_ASCII));
    }
}
