package io.memfdexporter.probe;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.MappedArray;
import io.memfdexporter.bpf.Native;

/**
 * bpf/memfd.bpf.c, loaded from the jar and attached to the memfd_create
 * exit tracepoint and the process exit tracepoint. Closing it detaches the
 * programs and frees the maps.
 */
public final class MemfdProbe implements Probe {
    public static final int DEFAULT_MAX_COMMS = 10240;
    public static final int MAX_MAX_COMMS = 1 << 20;
    static final String OBJECT_RESOURCE = "/bpf/memfd.bpf.o";
    static final String[] PROGRAMS = {"sys_exit_memfd_create", "sched_process_exit", "memfd_cgroup_rmdir"};
    private static final String FLUSH_PROGRAM = "flush_idle_windows";
    /* bpf/memfd.h WINDOW_MS: a window lasts a second, so flushing more often finds next to nothing new. */
    private static final long FLUSH_INTERVAL_NANOS = 1_000_000_000L;
    private static final Logger LOG = Logger.getLogger(MemfdProbe.class.getName());

    private final BpfObject object;
    private final List<BpfLink> links;
    private final SlotTable<CommKey> callsByComm;
    private final MappedArray callsByFlags;
    private final SlotTable<FailureKey> failuresByComm;
    private final BpfMap totals;
    private final BpfMap callsByCgroup;
    private final BpfMap failuresByCgroup;
    private final BpfMap rateWindows;
    private final BpfMap rateHistogram;
    /* System.nanoTime() of the last flush of idle windows; the first read flushes. */
    private final AtomicLong lastFlush = new AtomicLong(System.nanoTime() - FLUSH_INTERVAL_NANOS);

    private MemfdProbe(BpfObject object, List<BpfLink> links) {
        this.object = object;
        this.links = links;
        this.callsByComm = SlotTable.open(object, "comm", "calls_by_slot", "calls_by_comm", CommKey::read);
        this.callsByFlags = object.map("calls_by_flags").mmap();
        this.failuresByComm = SlotTable.open(object, "failure", "failures_by_slot", "failures_by_comm", FailureKey::read);
        this.totals = object.map("totals");
        this.callsByCgroup = object.map("calls_by_cgroup");
        this.failuresByCgroup = object.map("failures_by_cgroup");
        this.rateWindows = object.map("rate_windows");
        this.rateHistogram = object.map("rate_histogram");
    }

    /**
     * Loads and attaches the probe, or reattaches to its pinned state.
     *
     * @param maxComms capacity of the per-comm maps (calls and failures)
     * @param pins where the kernel state is pinned, or {@link BpfPins#NONE}
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static MemfdProbe attach(int maxComms, BpfPins pins) {
        if (maxComms < 1 || maxComms > MAX_MAX_COMMS) {
            throw new IllegalArgumentException("maxComms must be in [1, " + MAX_MAX_COMMS + "], got " + maxComms);
        }
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "memfd");
        try {
            SlotTable.setCapacity(object, "comm", maxComms, "calls_by_slot");
            SlotTable.setCapacity(object, "failure", maxComms, "failures_by_slot");
            List<BpfLink> links = object.loadAndAttach(pins, PROGRAMS);
            LOG.info(() -> "attached to syscalls:sys_exit_memfd_create, sched:sched_process_exit and cgroup:cgroup_rmdir (libbpf " + Native.get().libbpfVersion()
                    + ", per-comm map capacity " + maxComms + ")");
            return new MemfdProbe(object, links);
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    @Override
    public boolean isAttached() {
        return links.stream().allMatch(BpfLink::isAttached);
    }

    @Override
    public List<BpfObject.ProgramStats> programStats() {
        return object.programStats(List.of(PROGRAMS));
    }

    /**
     * Reads every map, after recording the rate windows that closed since the last read, at most once
     * a second: the flush walks every bucket of rate_windows (0.28 ms, BENCHMARKS.md), which
     * back-to-back scrapes would pay each time for windows that last a second. A window that closed
     * is so recorded by the first read at least a second after the previous flush.
     */
    public MemfdCounts read() {
        long now = System.nanoTime();
        long last = lastFlush.get();
        if (now - last >= FLUSH_INTERVAL_NANOS && lastFlush.compareAndSet(last, now)) {
            object.runSyscallProgram(FLUSH_PROGRAM);
        }
        SlotTable.Read<CommKey> calls = callsByComm.read();
        long[] byIndex = new long[callsByFlags.entries()];
        callsByFlags.copyLongs(0, byIndex, byIndex.length);
        Map<Integer, Long> flags = new HashMap<>();
        for (int index = 0; index < byIndex.length; index++) {
            if (byIndex[index] != 0) { // an array: every index is there, counted or not
                flags.put(FlagsIndex.flags(index), byIndex[index]);
            }
        }
        int flagEntries = flags.size();
        SlotTable.Read<FailureKey> failures = failuresByComm.read();
        CgroupCounts.Read cgroups = CgroupCounts.of(callsByCgroup);
        CgroupCounts.Read failureCgroups = CgroupCounts.of(failuresByCgroup);
        int windowEntries = rateWindows.forEach((key, value) -> { });
        Log2Histogram perSecond = Log2Histogram.read(rateHistogram.lookup(0));
        Totals sum = Totals.sumPerCpu(totals.lookupPerCpu(0), totals.paddedValueSize());
        return new MemfdCounts(calls.counts(), flags, failures.counts(),
                Map.of(callsByComm.family(), calls.wasted(), failuresByComm.family(), failures.wasted()), cgroups.counts(), failureCgroups.counts(), sum, perSecond, List.of(
                callsByComm.fill(calls),
                new MapFill(callsByFlags.name(), flagEntries, callsByFlags.entries()),
                failuresByComm.fill(failures),
                new MapFill(callsByCgroup.name(), cgroups.entries(), callsByCgroup.maxEntries()),
                new MapFill(failuresByCgroup.name(), failureCgroups.entries(), failuresByCgroup.maxEntries()),
                new MapFill(rateWindows.name(), windowEntries, rateWindows.maxEntries())));
    }

    @Override
    public void close() {
        object.close();
    }
}
