package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.FailureKey;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.MemfdCounts;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * Calls and failures per comm live in slot tables read from mmapped arrays
 * (bpf/memfd.h struct slot_table): threads of one new comm making their first
 * (failing) calls at the same moment on several CPUs race for its slots, and
 * every call and failure is still counted once; a full table counts what it
 * cannot hold, so the sums stay exact.
 */
@ExtendWith(RequiresBpf.class)
class PerCommSlotsKernelTest {
    private static final int THREADS = 8;
    private static final int CALLS = 25; // per thread, the first of them failing
    private static final int UNDEFINED_FLAG = 0x20;
    private static final int EINVAL = 22;
    private static final int RACES = 5;
    private static final int MAX_ROUNDS = 5000;
    private static final String CALLS_BY_COMM = "calls_by_comm";
    private static final String FAILURES_BY_COMM = "failures_by_comm";

    @Test
    void firstCallsOfOneNewCommFromManyThreadsAtOnceAreEachCountedOnce() {
        try (MemfdProbe probe = MemfdProbe.attach(MemfdProbe.DEFAULT_MAX_COMMS, BpfPins.NONE)) {
            // Two CPUs must run two of the threads at the moment they start, which a loaded host seldom gives
            // (1 to 3 lost races in 200 rounds at load 24): rounds go on until both tables saw races, at most MAX_ROUNDS.
            List<String> comms = new ArrayList<>();
            MemfdCounts counts = probe.read();
            while ((wasted(counts, CALLS_BY_COMM) < RACES || wasted(counts, FAILURES_BY_COMM) < RACES)
                    && comms.size() < MAX_ROUNDS) {
                String comm = uniqueComm("sr" + comms.size());
                comms.add(comm);
                CommThreads.runAllAs(together(List.of(comm), THREADS));
                counts = probe.read();
            }
            for (String comm : comms) {
                assertEquals(THREADS * CALLS, counts.callsByComm().toMap().get(key(comm)), comm);
                assertEquals(THREADS, counts.failures().toMap().get(new FailureKey(key(comm), EINVAL)), comm);
            }
            assertEquals(0, counts.totals().unrecordedComm(), "the table has room for every comm");
            assertEquals(0, counts.totals().unrecordedFailures(), "the table has room for every failure key");
            assertTrue(fill(counts, CALLS_BY_COMM).entries() >= comms.size() + wasted(counts, CALLS_BY_COMM),
                    "every comm of ours holds a slot, and lost races took slots too");
            assertTrue(fill(counts, FAILURES_BY_COMM).entries() >= comms.size() + wasted(counts, FAILURES_BY_COMM),
                    "every failure key of ours holds a slot, and lost races took slots too");
            // A lost race leaves a slot unused: it is counted, and costs no call.
            for (String family : List.of(CALLS_BY_COMM, FAILURES_BY_COMM)) {
                assertTrue(wasted(counts, family) >= RACES, family + ": first calls raced on two CPUs " + RACES
                        + " times in " + comms.size() + " rounds (seen: " + wasted(counts, family) + ")");
            }
            System.out.printf("slot races lost in %d rounds of %d threads: calls %d, failures %d%n", comms.size(), THREADS,
                    wasted(counts, CALLS_BY_COMM), wasted(counts, FAILURES_BY_COMM));
        }
    }

    /*
     * Each CPU first tries the slot it found last (bpf/slots.bpf.h slot_of): a thread on one CPU renaming itself
     * before every call makes the guess miss, then hit, at every turn. The empty comm (an all-zero key, like an
     * untaken slot's) is among the names, and every other call fails, so the failure table guesses too.
     */
    @Test
    void aThreadRenamingItselfBeforeEveryCallIsCountedUnderEachNameExactly() {
        List<byte[]> names = List.of(new byte[0], uniqueComm("sa").getBytes(StandardCharsets.US_ASCII),
                uniqueComm("sb").getBytes(StandardCharsets.US_ASCII));
        int rounds = 400;
        try (MemfdProbe probe = MemfdProbe.attach(MemfdProbe.DEFAULT_MAX_COMMS, BpfPins.NONE)) {
            CommThreads.runAs(names.get(1), () -> {
                TestLibC.pinToCpu(0);
                for (int round = 0; round < rounds; round++) {
                    for (byte[] name : names) {
                        TestLibC.check(TestLibC.INSTANCE.prctl(TestLibC.PR_SET_NAME, Arrays.copyOf(name, name.length + 1), 0, 0, 0),
                                "prctl(PR_SET_NAME)");
                        TestLibC.memfdCreateAndClose("t", round % 2 == 0 ? UNDEFINED_FLAG : TestLibC.MFD_CLOEXEC);
                    }
                }
            });
            MemfdCounts counts = probe.read();
            for (byte[] name : names) {
                CommKey comm = new CommKey(name);
                assertEquals(rounds, counts.callsByComm().toMap().get(comm), comm.toString());
                assertEquals(rounds / 2, counts.failures().toMap().get(new FailureKey(comm, EINVAL)), comm.toString());
            }
        }
    }

    @Test
    void fullSlotTablesCountWhatTheyCannotHoldAndTheSumsStayExact() {
        int capacity = 8;
        int newComms = 32;
        int threadsPerComm = 4;
        try (MemfdProbe probe = MemfdProbe.attach(capacity, BpfPins.NONE)) {
            List<String> comms = new ArrayList<>();
            for (int i = 0; i < newComms; i++) {
                comms.add(uniqueComm("sf" + i));
            }
            CommThreads.runAllAs(together(comms, threadsPerComm)); // 128 threads, first calls of 32 comms at once
            MemfdCounts counts = stableRead(probe);

            assertFull(counts, CALLS_BY_COMM, capacity, counts.callsByComm().toMap());
            assertFull(counts, FAILURES_BY_COMM, capacity, counts.failures().toMap());
            assertEquals(counts.totals().calls(), sum(counts.callsByComm().toMap()) + counts.totals().unrecordedComm(),
                    "per-comm sum + unrecorded == calls");
            assertEquals(counts.totals().failures(), sum(counts.failures().toMap()) + counts.totals().unrecordedFailures(),
                    "per-comm-and-errno sum + unrecorded == failures");
            long unrecordedCalls = 0;
            long unrecordedFailures = 0;
            for (String comm : comms) {
                long calls = counts.callsByComm().toMap().getOrDefault(key(comm), 0L);
                long failures = counts.failures().toMap().getOrDefault(new FailureKey(key(comm), EINVAL), 0L);
                assertTrue(calls <= threadsPerComm * CALLS && failures <= threadsPerComm, comm + ": " + calls + ", " + failures);
                unrecordedCalls += threadsPerComm * CALLS - calls;
                unrecordedFailures += threadsPerComm - failures;
            }
            assertTrue(unrecordedCalls >= (long) (newComms - capacity) * threadsPerComm * CALLS, "24 comms had no slot");
            assertTrue(unrecordedFailures >= (long) (newComms - capacity) * threadsPerComm, "24 failure keys had no slot");
            assertTrue(counts.totals().unrecordedComm() >= unrecordedCalls, "every call of ours without a slot is counted");
            assertTrue(counts.totals().unrecordedFailures() >= unrecordedFailures, "every failure of ours without a slot is counted");
            System.out.printf("full tables: slots lost to races: calls %d, failures %d; unrecorded of ours: %d of %d calls,"
                    + " %d of %d failures%n", wasted(counts, CALLS_BY_COMM), wasted(counts, FAILURES_BY_COMM),
                    unrecordedCalls, newComms * threadsPerComm * CALLS, unrecordedFailures, newComms * threadsPerComm);
        }
    }

    /* Every slot is taken, by a key with its count or lost to a race, and the fill says full. */
    private static void assertFull(MemfdCounts counts, String family, int capacity, Map<?, Long> byKey) {
        MapFill fill = fill(counts, family);
        assertEquals(capacity, fill.capacity(), family);
        assertEquals(capacity, fill.entries(), family + ": full, as a full hash map would say");
        assertEquals(capacity, byKey.size() + wasted(counts, family), family + ": each slot holds a counted key or was lost");
    }

    /*
     * threadsPerComm threads per comm, which all make their first call at once: the last one ready starts them, and
     * the others spin rather than sleep (a woken sleeper starts microseconds late, after the race is over).
     */
    private static List<CommThreads.Task> together(List<String> comms, int threadsPerComm) {
        int threads = comms.size() * threadsPerComm;
        AtomicInteger ready = new AtomicInteger();
        AtomicBoolean go = new AtomicBoolean();
        List<CommThreads.Task> tasks = new ArrayList<>();
        for (String comm : comms) {
            for (int i = 0; i < threadsPerComm; i++) {
                tasks.add(new CommThreads.Task(comm, () -> {
                    if (ready.incrementAndGet() == threads) {
                        go.set(true);
                    }
                    while (!go.get()) {
                        Thread.onSpinWait();
                    }
                    // The first call fails fast (EINVAL), so the threads' first counts land within the race window.
                    TestLibC.memfdCreateAndClose("t", UNDEFINED_FLAG);
                    calls(CALLS - 1, TestLibC.MFD_CLOEXEC).run();
                }));
            }
        }
        return tasks;
    }

    /* Two reads in a row with the same totals: no call happened while the maps were read. */
    private static MemfdCounts stableRead(MemfdProbe probe) {
        MemfdCounts previous = probe.read();
        for (int attempt = 0; attempt < 50; attempt++) {
            MemfdCounts next = probe.read();
            if (next.totals().equals(previous.totals()) && next.callsByComm().toMap().equals(previous.callsByComm().toMap())
                    && next.failures().toMap().equals(previous.failures().toMap())) {
                return next;
            }
            previous = next;
        }
        throw new AssertionError("activity on this host never paused for a consistent read");
    }

    private static long wasted(MemfdCounts counts, String family) {
        return counts.wastedSlots().get(family);
    }

    private static long sum(Map<?, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    private static MapFill fill(MemfdCounts counts, String family) {
        return counts.fill().stream().filter(f -> f.map().equals(family)).findFirst().orElseThrow();
    }

    private static CommKey key(String comm) {
        return new CommKey(comm.getBytes(StandardCharsets.US_ASCII));
    }
}
