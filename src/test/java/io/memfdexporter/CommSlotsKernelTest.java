package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.probe.CommKey;
import io.memfdexporter.probe.MapFill;
import io.memfdexporter.probe.MemfdCounts;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestLibC;

/**
 * Calls per comm live in a slot table read from mmapped arrays (bpf/memfd.h
 * struct slot_table): threads of one new comm making their first calls at the
 * same moment on several CPUs race for its slot, and every call is still
 * counted once; a full table counts what it cannot hold, so the sums stay exact.
 */
@ExtendWith(RequiresBpf.class)
class CommSlotsKernelTest {
    private static final int THREADS = 8;
    private static final int CALLS = 25; // per thread, the first of them failing
    private static final int UNDEFINED_FLAG = 0x20;
    private static final int RACES = 5;
    private static final int MAX_ROUNDS = 5000;

    @Test
    void firstCallsOfOneNewCommFromManyThreadsAtOnceAreEachCountedOnce() {
        try (MemfdProbe probe = MemfdProbe.attach(MemfdProbe.DEFAULT_MAX_COMMS, BpfPins.NONE)) {
            // Two CPUs must run two of the threads at the moment they start, which a loaded host seldom gives
            // (1 to 3 lost races in 200 rounds at load 24): rounds go on until races were seen, at most MAX_ROUNDS.
            List<String> comms = new ArrayList<>();
            MemfdCounts counts = probe.read();
            while (counts.wastedCommSlots() < RACES && comms.size() < MAX_ROUNDS) {
                String comm = uniqueComm("sr" + comms.size());
                comms.add(comm);
                CommThreads.runAllAs(together(List.of(comm), THREADS));
                counts = probe.read();
            }
            for (String comm : comms) {
                assertEquals(THREADS * CALLS, counts.callsByComm().get(key(comm)), comm);
            }
            assertEquals(0, counts.totals().unrecordedComm(), "the table has room for every comm");
            MapFill fill = fill(counts);
            assertTrue(fill.entries() >= comms.size(), "every comm of ours holds a slot: " + fill);
            // A lost race leaves a slot unused: it is counted, and costs no call.
            assertTrue(counts.wastedCommSlots() >= RACES, "first calls raced on two CPUs " + RACES + " times in "
                    + comms.size() + " rounds (seen: " + counts.wastedCommSlots() + ")");
            System.out.printf("slot races lost: %d in %d rounds of %d threads; comms in the table: %d%n",
                    counts.wastedCommSlots(), comms.size(), THREADS, fill.entries());
        }
    }

    @Test
    void aFullSlotTableCountsWhatItCannotHoldAndTheSumStaysExact() {
        int capacity = 8;
        int newComms = 32;
        try (MemfdProbe probe = MemfdProbe.attach(capacity, BpfPins.NONE)) {
            List<String> comms = new ArrayList<>();
            for (int i = 0; i < newComms; i++) {
                comms.add(uniqueComm("sf" + i));
            }
            CommThreads.runAllAs(together(comms, 4)); // 128 threads, first calls of 32 comms at once
            MemfdCounts counts = stableRead(probe);

            MapFill fill = fill(counts);
            assertEquals(capacity, fill.capacity());
            assertEquals(capacity, fill.entries() + counts.wastedCommSlots(), "every slot taken: by a comm, or lost to a race");
            assertEquals(fill.entries(), counts.callsByComm().size(), "each comm in the table has its count");
            long recorded = counts.callsByComm().values().stream().mapToLong(Long::longValue).sum();
            assertEquals(counts.totals().calls(), recorded + counts.totals().unrecordedComm(),
                    "per-comm sum + unrecorded == calls");
            long unrecordedOfOurs = 0;
            for (String comm : comms) {
                long got = counts.callsByComm().getOrDefault(key(comm), 0L);
                assertTrue(got <= 4 * CALLS, comm + ": " + got);
                unrecordedOfOurs += 4 * CALLS - got;
            }
            assertTrue(unrecordedOfOurs >= (long) (newComms - capacity) * 4 * CALLS, "at least 24 comms had no slot");
            assertTrue(counts.totals().unrecordedComm() >= unrecordedOfOurs, "every call of ours without a slot is counted");
            System.out.printf("full table: %d comms, %d slots lost to races, %d of our %d calls unrecorded (all: %d)%n",
                    fill.entries(), counts.wastedCommSlots(), unrecordedOfOurs, newComms * 4 * CALLS,
                    counts.totals().unrecordedComm());
        }
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
            if (next.totals().equals(previous.totals()) && next.callsByComm().equals(previous.callsByComm())) {
                return next;
            }
            previous = next;
        }
        throw new AssertionError("activity on this host never paused for a consistent read");
    }

    private static MapFill fill(MemfdCounts counts) {
        return counts.fill().stream().filter(f -> f.map().equals("calls_by_comm")).findFirst().orElseThrow();
    }

    private static CommKey key(String comm) {
        return new CommKey(comm.getBytes(StandardCharsets.US_ASCII));
    }
}
