package io.memfdexporter.metrics;

import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Bounds the comm series a family exports: comm names are chosen by whoever
 * runs a process, so an attacker spraying random names must not explode
 * Prometheus. The comms with the largest counts keep their own series; the
 * rest are summed into {@link #OTHER}, so sums over a family stay exact.
 */
final class TopComms {
    static final String OTHER = "(other)";

    private TopComms() {
    }

    /** The labels of the {@code limit} largest counts (ties broken by label, so the choice is stable). */
    static Set<String> top(Map<String, Long> countsByComm, int limit) {
        if (countsByComm.size() <= limit) {
            return countsByComm.keySet();
        }
        return countsByComm.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
                .limit(limit)
                .map(Map.Entry::getKey)
                .collect(Collectors.toSet());
    }
}
