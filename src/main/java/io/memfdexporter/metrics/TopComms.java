package io.memfdexporter.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Function;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.SlotCounts;

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
 * free series; once they are taken, every new label folds into
 * {@link #OTHER}.
 *
 * <p>A fold reads the kernel's slot tables as they are ({@link SlotCounts}):
 * since a slot's key never changes and neither does a label's decision, the
 * row each slot adds to is decided once, the first time the slot counts, and
 * remembered by slot. A scrape then adds each slot's count into a
 * {@code long[]} of rows and allocates only for the rows it returns, not per
 * comm in the kernel; comms are labelled only when first seen. The first fold
 * ranks the whole table, so after a restart over pinned maps the largest comms
 * get the series.
 *
 * <p>Thread-safe: folds of concurrent scrapes take turns.
 */
final class TopComms {
    static final String OTHER = "(other)";
    private static final int UNDECIDED = -1;

    private final int limit;
    /* Labels with a series of their own, at most limit. */
    private final Set<String> shown = new HashSet<>();
    /* The slot table the slot decisions below are about (SlotCounts.source). */
    private Object source;
    /* By slot of source: the index in rows of the row its count adds to, or UNDECIDED while its count is 0. */
    private int[] slotRows = new int[0];
    private final List<Row<?>> rows = new ArrayList<>();
    private final Map<Row<?>, Integer> rowIndex = new HashMap<>();
    /* The distinct labels of source's slots summed into OTHER. */
    private final Set<String> foldedLabels = new HashSet<>();

    /** @param limit the most comm labels with a series of their own */
    TopComms(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be positive, got " + limit);
        }
        this.limit = limit;
    }

    /** A row of a family labelled by comm and other labels (a label value, or a set of them: L has value equality). */
    record Row<L>(String comm, L other) {
    }

    /**
     * Counts of a family labelled by comm and possibly other labels, by row
     * (u64s, summed saturating): keys with the same labels summed; a comm's
     * label gets a series as the class says, ranked by its total over the other
     * labels, and the folded ones are summed into one {@link #OTHER} row per
     * value of the other labels, present only when some comm is folded.
     */
    synchronized <K, L> Map<Row<L>, Long> fold(SlotCounts<K> counts, Function<K, String> commLabel,
                                               Function<K, L> otherLabel) {
        if (counts.source() != source) { // another table (a test's, or the same family reopened): decide afresh
            source = counts.source();
            slotRows = new int[0];
            rows.clear();
            rowIndex.clear();
            foldedLabels.clear();
        }
        if (slotRows.length < counts.slots()) {
            int decided = slotRows.length;
            slotRows = Arrays.copyOf(slotRows, counts.slots());
            Arrays.fill(slotRows, decided, slotRows.length, UNDECIDED);
        }
        decideNewSlots(counts, commLabel, otherLabel);
        long[] sums = new long[rows.size()];
        for (int slot = 0; slot < counts.slots(); slot++) {
            long count = counts.count(slot);
            if (count != 0) {
                int row = slotRows[slot];
                sums[row] = U64.add(sums[row], count);
            }
        }
        Map<Row<L>, Long> byRow = new HashMap<>(2 * rows.size());
        for (int row = 0; row < sums.length; row++) {
            @SuppressWarnings("unchecked") // every row of source was made by this method with source's L
            Row<L> labels = (Row<L>) rows.get(row);
            byRow.put(labels, sums[row]); // every row has a slot whose count is not 0: counts only grow
        }
        return byRow;
    }

    /** Comm labels summed into {@link #OTHER} by the last fold. */
    synchronized int lastFolded() {
        return foldedLabels.size();
    }

    /* Labels the slots counted for the first time, gives the free series to the largest new labels, and decides. */
    private <K, L> void decideNewSlots(SlotCounts<K> counts, Function<K, String> commLabel, Function<K, L> otherLabel) {
        List<Integer> newSlots = null;
        List<String> newSlotLabels = null;
        Map<String, Long> candidates = null; // labels never seen, by total
        for (int slot = 0; slot < counts.slots(); slot++) {
            if (counts.count(slot) == 0 || slotRows[slot] != UNDECIDED) {
                continue;
            }
            if (newSlots == null) {
                newSlots = new ArrayList<>();
                newSlotLabels = new ArrayList<>();
                candidates = new HashMap<>();
            }
            String label = commLabel.apply(counts.key(slot));
            newSlots.add(slot);
            newSlotLabels.add(label);
            if (!full() && !shown.contains(label) && !OTHER.equals(label)) { // a comm named "(other)" is never shown
                candidates.merge(label, counts.count(slot), U64::add);
            }
        }
        if (newSlots == null) {
            return;
        }
        showLargest(new ArrayList<>(candidates.entrySet()));
        for (int i = 0; i < newSlots.size(); i++) {
            int slot = newSlots.get(i);
            String label = newSlotLabels.get(i);
            boolean folded = !shown.contains(label);
            if (folded) {
                foldedLabels.add(label);
            }
            Row<L> row = new Row<>(folded ? OTHER : label, otherLabel.apply(counts.key(slot)));
            slotRows[slot] = rowIndex.computeIfAbsent(row, unused -> {
                rows.add(row);
                return rows.size() - 1;
            });
        }
    }

    private boolean full() {
        return shown.size() >= limit;
    }

    /* Gives the free series to the largest of these labels never seen before (ties by label); the rest fold for good. */
    private void showLargest(List<Map.Entry<String, Long>> candidates) {
        int free = limit - shown.size();
        if (candidates.size() <= free) {
            candidates.forEach(entry -> shown.add(entry.getKey()));
            return;
        }
        for (Map.Entry<String, Long> entry : best(candidates, free, byCountThen(Comparator.<String>naturalOrder()))) {
            shown.add(entry.getKey());
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
}
