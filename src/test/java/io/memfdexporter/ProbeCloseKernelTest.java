package io.memfdexporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.probe.MemfdProbe;
import io.memfdexporter.testing.BpfIds;
import io.memfdexporter.testing.RequiresBpf;

/**
 * Closing a probe while other threads read it: each read either completes or
 * is refused as closed; none reads a freed libbpf object or a released fd
 * (before the fix: EBADF, or a SIGSEGV in libbpf).
 */
@ExtendWith(RequiresBpf.class)
class ProbeCloseKernelTest {
    private static final int READERS = 4;
    private static final String CLOSED = "the BPF object memfd is closed";

    @Test
    void readsRacingACloseCompleteOrAreRefusedAndNoneAfterItTouchesTheKernel() throws Exception {
        for (int round = 0; round < 5; round++) {
            MemfdProbe probe = MemfdProbe.attach(MemfdProbe.DEFAULT_MAX_COMMS, BpfPins.NONE);
            Set<Integer> programs = BpfIds.programIds(ProcessHandle.current().pid());
            AtomicInteger completed = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            AtomicReference<Throwable> other = new AtomicReference<>();
            CountDownLatch reading = new CountDownLatch(READERS);
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < READERS; i++) {
                Thread reader = new Thread(() -> {
                    reading.countDown();
                    while (true) {
                        try {
                            probe.read();
                            probe.programStats();
                            completed.incrementAndGet();
                        } catch (IllegalStateException e) {
                            if (!CLOSED.equals(e.getMessage())) {
                                other.compareAndSet(null, e);
                            }
                            refused.incrementAndGet();
                            return;
                        } catch (RuntimeException e) {
                            other.compareAndSet(null, e);
                            return;
                        }
                    }
                });
                reader.start();
                readers.add(reader);
            }
            reading.await();
            Thread.sleep(20);
            probe.close();
            for (Thread reader : readers) {
                reader.join(30_000);
            }
            assertEquals(null, other.get(), "round " + round + ": only completed or refused reads");
            assertEquals(READERS, refused.get(), "round " + round + ": every reader was refused once closed");
            assertTrue(completed.get() > 0, "round " + round + ": reads ran before the close");
            IllegalStateException afterClose = assertThrows(IllegalStateException.class, probe::read);
            assertEquals(CLOSED, afterClose.getMessage());
            assertThrows(IllegalStateException.class, probe::programStats);
            assertTrue(BpfIds.awaitGone(programs), "round " + round + ": programs detached: " + programs);
        }
    }
}
