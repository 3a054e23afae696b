package io.memfdexporter.metrics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Function;

import io.memfdexporter.probe.CommKey;

/**
 * Bounds the comm series a family exports: comm names are chosen by whoever
 * runs a process, so an attacker spraying random names must not explode
 * Prometheus. The comms with the largest counts keep their own series (ties
 * broken by label, so the choice is stable); the rest are summed into
 * {@link #OTHER}, so sums over a family stay exact.
 */
final class TopComms {
    static final String OTHER = "(other)";

    private TopComms() {
    }

    /** The labels of the {@code limit} largest counts. */
    static Set<String> top(Map<String, Long> countsByLabel, int limit) {
        if (countsByLabel.size() <= limit) {
            return countsByLabel.keySet();
        }
        Set<String> top = new HashSet<>();
        best(countsByLabel, limit, Comparator.naturalOrder()).forEach(entry -> top.add(entry.getKey()));
        return top;
    }

    /**
     * Counts by comm label: comms with the same label summed, at most
     * {@code limit} labels of their own, the rest summed into {@link #OTHER}.
     */
    static Map<String, Long> countsByLabel(Map<CommKey, Long> counts, int limit) {
        if (counts.keySet().stream().allMatch(CommKey::isPrintableAscii)) {
            // Nearly always, and what a scrape of a full map costs: such comms are their own labels, so
            // no two share one, and ranking the keys themselves spares labelling all but the shown.
            return bounded(counts, limit, CommKey::compareBytes, CommLabel::of);
        }
        Map<String, Long> byLabel = new HashMap<>();
        counts.forEach((comm, count) -> byLabel.merge(CommLabel.of(comm), count, Long::sum));
        return bounded(byLabel, limit, Comparator.naturalOrder(), Function.identity());
    }

    /* Keys with distinct labels, in tieBreak order where the labels are in theirs. */
    private static <K> Map<String, Long> bounded(Map<K, Long> counts, int limit, Comparator<K> tieBreak,
                                                 Function<K, String> label) {
        Map<String, Long> shown = new HashMap<>();
        if (counts.size() <= limit) {
            counts.forEach((key, count) -> shown.put(label.apply(key), count));
            return shown;
        }
        long rest = 0;
        for (long count : counts.values()) {
            rest += count;
        }
        for (Map.Entry<K, Long> entry : best(counts, limit, tieBreak)) {
            shown.put(label.apply(entry.getKey()), entry.getValue());
            rest -= entry.getValue();
        }
        shown.merge(OTHER, rest, Long::sum); // a comm named "(other)" among the shown joins the rest
        return shown;
    }

    /* The limit largest counts, ties broken by tieBreak: a heap of the best so far, n log(limit), not a sort of all n. */
    private static <K> List<Map.Entry<K, Long>> best(Map<K, Long> counts, int limit, Comparator<K> tieBreak) {
        Comparator<Map.Entry<K, Long>> rank = Comparator.<Map.Entry<K, Long>>comparingLong(Map.Entry::getValue).reversed()
                .thenComparing(Map.Entry::getKey, tieBreak);
        PriorityQueue<Map.Entry<K, Long>> best = new PriorityQueue<>(limit + 1, rank.reversed()); // worst on top
        for (Map.Entry<K, Long> entry : counts.entrySet()) {
            if (best.size() == limit && rank.compare(entry, best.peek()) > 0) {
                continue; // ranks below the worst kept: most entries, once the heap is full
            }
            best.add(entry);
            if (best.size() > limit) {
                best.poll();
            }
        }
        return new ArrayList<>(best);
    }
}
