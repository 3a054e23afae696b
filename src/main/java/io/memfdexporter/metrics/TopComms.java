package io.memfdexporter.metrics;

import java.util.Comparator;
import java.util.HashSet;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

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

    /* Largest count first; ties by label, so the choice is stable. */
    private static final Comparator<Map.Entry<String, Long>> RANK = (a, b) -> {
        int byCount = Long.compare(b.getValue(), a.getValue());
        return byCount != 0 ? byCount : a.getKey().compareTo(b.getKey());
    };

    /** The labels of the {@code limit} largest counts (ties broken by label, so the choice is stable). */
    static Set<String> top(Map<String, Long> countsByComm, int limit) {
        if (countsByComm.size() <= limit) {
            return countsByComm.keySet();
        }
        // A heap of the best limit so far, worst on top: n log(limit), not a sort of all n.
        PriorityQueue<Map.Entry<String, Long>> best = new PriorityQueue<>(limit + 1, RANK.reversed());
        for (Map.Entry<String, Long> entry : countsByComm.entrySet()) {
            if (best.size() == limit && RANK.compare(entry, best.peek()) > 0) {
                continue; // ranks below the worst kept: most entries, once the heap is full
            }
            best.add(entry);
            if (best.size() > limit) {
                best.poll();
            }
        }
        Set<String> top = new HashSet<>();
        best.forEach(entry -> top.add(entry.getKey()));
        return top;
    }
}
