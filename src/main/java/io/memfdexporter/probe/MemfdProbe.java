package io.memfdexporter.probe;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.Native;

/**
 * bpf/memfd.bpf.c, loaded from the jar and attached to the memfd_create
 * tracepoints. Closing it detaches the programs and frees the maps.
 */
public final class MemfdProbe implements Probe {
    public static final int DEFAULT_MAX_COMMS = 10240;
    public static final int MAX_MAX_COMMS = 1 << 20;
    static final String OBJECT_RESOURCE = "/bpf/memfd.bpf.o";
    static final String[] PROGRAMS = {"sys_enter_memfd_create", "sys_exit_memfd_create"};
    private static final Logger LOG = Logger.getLogger(MemfdProbe.class.getName());

    private final BpfObject object;
    private final List<BpfLink> links;
    private final BpfMap callsByComm;
    private final BpfMap callsByFlags;
    private final BpfMap failuresByComm;
    private final BpfMap totals;

    private MemfdProbe(BpfObject object, List<BpfLink> links) {
        this.object = object;
        this.links = links;
        this.callsByComm = object.map("calls_by_comm");
        this.callsByFlags = object.map("calls_by_flags");
        this.failuresByComm = object.map("failures_by_comm");
        this.totals = object.map("totals");
    }

    /**
     * Loads and attaches the probe.
     *
     * @param maxComms capacity of the per-comm maps (calls and failures)
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static MemfdProbe attach(int maxComms) {
        if (maxComms < 1 || maxComms > MAX_MAX_COMMS) {
            throw new IllegalArgumentException("maxComms must be in [1, " + MAX_MAX_COMMS + "], got " + maxComms);
        }
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "memfd");
        try {
            object.setMaxEntries("calls_by_comm", maxComms);
            object.setMaxEntries("failures_by_comm", maxComms);
            object.load();
            List<BpfLink> links = object.attachAll(PROGRAMS);
            LOG.info(() -> "attached to syscalls:sys_{enter,exit}_memfd_create (libbpf " + Native.get().libbpfVersion()
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

    /** Reads every map. */
    public MemfdCounts read() {
        Map<CommKey, Long> calls = new HashMap<>();
        int commEntries = callsByComm.forEach((key, value) -> calls.put(CommKey.read(key), value.getLong()));
        Map<Integer, Long> flags = new HashMap<>();
        int flagEntries = callsByFlags.forEach((key, value) -> flags.put(key.getInt(), value.getLong()));
        Map<FailureKey, Long> failures = new HashMap<>();
        int failureEntries = failuresByComm.forEach((key, value) -> failures.put(FailureKey.read(key), value.getLong()));
        Totals sum = Totals.sumPerCpu(totals.lookupPerCpu(0), totals.paddedValueSize());
        return new MemfdCounts(calls, flags, failures, sum, List.of(
                new MapFill(callsByComm.name(), commEntries, callsByComm.maxEntries()),
                new MapFill(callsByFlags.name(), flagEntries, callsByFlags.maxEntries()),
                new MapFill(failuresByComm.name(), failureEntries, failuresByComm.maxEntries())));
    }

    @Override
    public void close() {
        object.close();
    }
}
