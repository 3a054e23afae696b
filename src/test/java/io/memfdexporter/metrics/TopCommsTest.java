package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class TopCommsTest {
    @Test
    void keepsTheLargestCountsAndBreaksTiesByLabel() {
        Map<String, Long> counts = Map.of("a", 5L, "b", 9L, "c", 5L, "d", 1L, "e", 7L);
        assertEquals(Set.of("b", "e", "a"), TopComms.top(counts, 3));
        assertEquals(Set.of("b"), TopComms.top(counts, 1));
        assertEquals(counts.keySet(), TopComms.top(counts, 5));
    }
}
