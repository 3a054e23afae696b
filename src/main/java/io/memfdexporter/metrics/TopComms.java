package io.memfdexporter.metrics;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Function;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.CommKey;

/**
 * Bounds the comm series of one counter family: comm names are chosen by
 * whoever runs a process, so an attacker spraying random names must not
 * explode Prometheus. At most {@code limit} comm labels get a series of their
 * own; every other comm is summed into {@link #OTHER}, so sums over the family
 * stay exact.
 *
 * <p>Which labels get a series is decided once per label and never revised
 * for the life of this object (the exporter's): a label that got a series keeps
 * it, and a label folded into {@link #OTHER} stays there. Re-ranking at every
 * scrape would move a comm's whole history between series whenever it left or
 * entered the top (its series gone, {@link #OTHER} jumping by counts nobody
 * made in between), and {@code rate()} would report that as calls. With the
 * decision fixed, each series only ever adds the increments of the same comms,
 * so every series is as monotonic as the kernel's counters. At each fold,
 * labels never seen before are ranked by count (ties by label) and take the
 * free slots; once the slots are full, every new label folds into
 * {@link #OTHER}. While slots are free every label seen has one, so no record
 * of the folded labels is needed: the state is at most {@code limit} labels.
 * The first fold ranks the whole map, so after a restart over pinned maps the
 * largest comms get the series.
 *
 * <p>Thread-safe: folds of concurrent scrapes take turns.
 */
final class TopComms {
    static final String OTHER = "(other)";
    private static final CommKey OTHER_COMM = new CommKey(OTHER.getBytes(StandardCharsets.US_ASCII));

    private final int limit;
    /* Labels with a series of their own, at most limit. */
    private final Set<String> shown = new HashSet<>();
    /* The printable-ASCII comms whose label is shown, to their label: such a comm is its own label, so looking it up
     * here spares labelling the thousands of keys of a full map at every scrape. */
    private final Map<CommKey, String> shownAscii = new HashMap<>();
    private int lastFolded;

    /** @param limit the most comm labels with a series of their own */
    TopComms(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be positive, got " + limit);
        }
        this.limit = limit;
    }

    /**
     * Counts by comm label (u64s, summed saturating): comms with the same label
     * summed, those without a series of their own summed into {@link #OTHER},
     * present only when some comm is folded.
     */
    synchronized Map<String, Long> fold(Map<CommKey, Long> counts) {
        Map<String, Long> byLabel = new HashMap<>();
        List<Map.Entry<CommKey, Long>> newAscii = new ArrayList<>();
        Map<String, Long> newLabels = new HashMap<>(); // comms that are not printable ASCII, by label
        Folded folded = new Folded();
        for (Map.Entry<CommKey, Long> entry : counts.entrySet()) {
            CommKey comm = entry.getKey();
            long count = entry.getValue();
            String label = comm.isPrintableAscii() ? shownAscii.get(comm) : CommLabel.of(comm);
            if (label != null && shown.contains(label)) {
                byLabel.merge(label, count, U64::add);
            } else if (full() || comm.equals(OTHER_COMM)) {
                folded.comm(label, count); // a comm named "(other)" is summed with the rest, never shown
            } else if (label == null) {
                newAscii.add(entry);
            } else {
                newLabels.merge(label, count, U64::add);
            }
        }
        if (newLabels.isEmpty()) {
            // Nearly always: printable ASCII comms are their own labels, so no two share one, and ranking the keys
            // themselves labels only those that get a series.
            for (Map.Entry<CommKey, Long> entry : rankAndAssign(newAscii, CommKey::compareBytes, CommLabel::of)) {
                folded.comm(null, entry.getValue());
            }
        } else {
            // Some new comm is not printable ASCII: its label may be shared with others, so rank all by label.
            newAscii.forEach(entry -> newLabels.merge(CommLabel.of(entry.getKey()), entry.getValue(), U64::add));
            newAscii.clear();
            for (Map.Entry<String, Long> entry : rankAndAssign(new ArrayList<>(newLabels.entrySet()),
                    Comparator.naturalOrder(), Function.identity())) {
                folded.label(entry.getKey(), entry.getValue());
            }
        }
        for (Map.Entry<CommKey, Long> entry : newAscii) { // labelled now if they got a series (fast path only)
            String label = shownAscii.get(entry.getKey());
            if (label != null) {
                byLabel.merge(label, entry.getValue(), U64::add);
            }
        }
        newLabels.forEach((label, count) -> {
            if (shown.contains(label)) {
                byLabel.merge(label, count, U64::add);
            }
        });
        if (folded.any) {
            byLabel.put(OTHER, folded.sum);
        }
        lastFolded = folded.labels(counts);
        return byLabel;
    }

    /** A row of a family labelled by comm and other labels (a label value, or a set of them: L has value equality). */
    record Row<L>(String comm, L other) {
    }

    /**
     * Counts of a family labelled by comm and other labels, by row: keys with
     * the same labels summed; a comm's label gets a series as in {@link #fold(Map)},
     * ranked by its total over the other labels, and the folded ones are summed
     * into one {@link #OTHER} row per value of the other labels.
     */
    synchronized <K, L> Map<Row<L>, Long> foldRows(Map<K, Long> counts, Function<K, String> commLabel,
                                                   Function<K, L> otherLabel) {
        Map<Row<L>, Long> rows = new HashMap<>();
        Map<String, Long> newTotals = new HashMap<>();
        List<Map.Entry<Row<L>, Long>> pending = new ArrayList<>();
        Set<String> foldedLabels = new HashSet<>();
        counts.forEach((key, count) -> {
            Row<L> row = new Row<>(commLabel.apply(key), otherLabel.apply(key));
            if (shown.contains(row.comm())) {
                rows.merge(row, count, U64::add);
            } else if (full() || OTHER.equals(row.comm())) {
                rows.merge(new Row<>(OTHER, row.other()), count, U64::add);
                foldedLabels.add(row.comm());
            } else {
                newTotals.merge(row.comm(), count, U64::add);
                pending.add(Map.entry(row, count));
            }
        });
        rankAndAssign(new ArrayList<>(newTotals.entrySet()), Comparator.naturalOrder(), Function.identity());
        for (Map.Entry<Row<L>, Long> entry : pending) {
            Row<L> row = entry.getKey();
            if (shown.contains(row.comm())) {
                rows.merge(row, entry.getValue(), U64::add);
            } else {
                rows.merge(new Row<>(OTHER, row.other()), entry.getValue(), U64::add);
                foldedLabels.add(row.comm());
            }
        }
        lastFolded = foldedLabels.size();
        return rows;
    }

    /** Comm labels summed into {@link #OTHER} by the last fold. */
    synchronized int lastFolded() {
        return lastFolded;
    }

    private boolean full() {
        return shown.size() >= limit;
    }

    /*
     * Gives the free slots to the largest of these labels never seen before (ties by label; keys with distinct
     * labels, in tieBreak order where the labels are in theirs) and returns the others, now folded for good.
     */
    private <K> List<Map.Entry<K, Long>> rankAndAssign(List<Map.Entry<K, Long>> candidates, Comparator<K> tieBreak,
                                                       Function<K, String> label) {
        int free = limit - shown.size();
        if (candidates.size() <= free) {
            candidates.forEach(entry -> show(label.apply(entry.getKey())));
            return List.of();
        }
        Set<K> winners = new HashSet<>();
        for (Map.Entry<K, Long> entry : best(candidates, free, byCountThen(tieBreak))) {
            show(label.apply(entry.getKey()));
            winners.add(entry.getKey());
        }
        return candidates.stream().filter(entry -> !winners.contains(entry.getKey())).toList();
    }

    private void show(String label) {
        shown.add(label);
        byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
        CommKey asComm = new CommKey(bytes);
        if (bytes.length == label.length() && asComm.isPrintableAscii()) {
            shownAscii.put(asComm, label); // the comm spelling this label in ASCII has it too (CommLabel.of)
        }
    }

    /** Largest count first (as u64s), ties broken by tieBreak on the key. */
    static <K> Comparator<Map.Entry<K, Long>> byCountThen(Comparator<K> tieBreak) {
        return Comparator.<Map.Entry<K, Long>, Long>comparing(Map.Entry::getValue, Long::compareUnsigned).reversed()
                .thenComparing(Map.Entry::getKey, tieBreak);
    }

    /** The limit first entries in rank order: a heap of the best so far, n log(limit), not a sort of all n. */
    static <E> List<E> best(Iterable<E> entries, int limit, Comparator<? super E> rank) {
        PriorityQueue<E> best = new PriorityQueue<>(limit + 1, rank.reversed()); // worst on top
        for (E entry : entries) {
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

    /* What one fold summed into OTHER, and how many distinct labels that was. */
    private static final class Folded {
        long sum;
        boolean any;
        int asciiComms;
        Set<String> labels; // ranked by label
        Set<String> nonAsciiLabels; // of comms that are not printable ASCII, folded one by one (rare)

        /* A comm folded as it was met: label null for a printable ASCII comm (its own label). */
        void comm(String label, long count) {
            if (label == null) {
                asciiComms++;
            } else {
                nonAsciiLabels = add(nonAsciiLabels, label);
            }
            count(count);
        }

        /* Comms folded by their label. */
        void label(String label, long count) {
            labels = add(labels, label);
            count(count);
        }

        private void count(long count) {
            sum = U64.add(sum, count);
            any = true;
        }

        private static Set<String> add(Set<String> set, String label) {
            Set<String> to = set == null ? new HashSet<>() : set;
            to.add(label);
            return to;
        }

        /*
         * Distinct folded labels. Comms are folded one by one only once the slots are full, printable ASCII ones
         * included: a label of both kinds (byte 0x01 and the text "\x01") is then counted once.
         */
        int labels(Map<CommKey, Long> counts) {
            int distinct = asciiComms + (labels == null ? 0 : labels.size());
            if (nonAsciiLabels != null) {
                for (String label : nonAsciiLabels) {
                    byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
                    CommKey asComm = new CommKey(bytes);
                    if (!(bytes.length == label.length() && asComm.isPrintableAscii() && counts.containsKey(asComm))) {
                        distinct++;
                    }
                }
            }
            return distinct;
        }
    }
}
