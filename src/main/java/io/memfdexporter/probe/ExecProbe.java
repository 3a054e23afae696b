package io.memfdexporter.probe;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;

/**
 * bpf/exec.bpf.c, loaded from the jar: counts executions of memfds, attached
 * to sched_process_exec and the execve/execveat tracepoints. Closing it
 * detaches the programs and frees the maps.
 */
public final class ExecProbe implements Probe {
    static final String OBJECT_RESOURCE = "/bpf/exec.bpf.o";
    static final String[] PROGRAMS = {"sys_enter_execve", "sys_enter_execveat", "sys_exit_execve",
        "sys_exit_execveat", "sched_process_exec"};
    private static final Logger LOG = Logger.getLogger(ExecProbe.class.getName());

    private final BpfObject object;
    private final List<BpfLink> links;
    private final BpfMap execsByComm;
    private final BpfMap commStash;
    private final BpfMap totals;

    private ExecProbe(BpfObject object, List<BpfLink> links) {
        this.object = object;
        this.links = links;
        this.execsByComm = object.map("execs_by_comm");
        this.commStash = object.map("exec_comm_stash");
        this.totals = object.map("exec_totals");
    }

    /**
     * Loads and attaches the probe.
     *
     * @param maxComms capacity of the per-comm map, as for {@link MemfdProbe#attach(int, BpfPins)}
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static ExecProbe attach(int maxComms, BpfPins pins) {
        if (maxComms < 1 || maxComms > MemfdProbe.MAX_MAX_COMMS) {
            throw new IllegalArgumentException("maxComms must be in [1, " + MemfdProbe.MAX_MAX_COMMS + "], got " + maxComms);
        }
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "exec");
        try {
            object.setMaxEntries("execs_by_comm", maxComms);
            List<BpfLink> links = object.loadAndAttach(pins, PROGRAMS);
            LOG.info(() -> "attached to sched:sched_process_exec and syscalls:sys_{enter,exit}_execve{,at}"
                    + " (per-comm map capacity " + maxComms + ")");
            return new ExecProbe(object, links);
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    /** True while every program is attached. */
    public List<BpfObject.ProgramStats> programStats() {
        return object.programStats(List.of(PROGRAMS));
    }

    @Override
    public boolean isAttached() {
        return links.stream().allMatch(BpfLink::isAttached);
    }

    /** Reads every map. */
    public ExecCounts read() {
        Map<ExecKey, Long> execs = new HashMap<>();
        int execEntries = execsByComm.forEach((key, value) -> execs.put(ExecKey.read(key), value.getLong()));
        int stashEntries = commStash.forEach((key, value) -> { });
        ExecTotals sum = ExecTotals.sumPerCpu(totals.lookupPerCpu(0), totals.paddedValueSize());
        return new ExecCounts(execs, sum, List.of(
                new MapFill(execsByComm.name(), execEntries, execsByComm.maxEntries()),
                new MapFill(commStash.name(), stashEntries, commStash.maxEntries())));
    }

    @Override
    public void close() {
        object.close();
    }
}
