package io.memfdexporter.probe;

import java.util.Arrays;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Stream;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.KernelBtf;

/**
 * bpf/exec.bpf.c, loaded from the jar: counts executions of memfds, with the
 * programs of one {@link CommSource}. Closing it detaches the programs and
 * frees the maps.
 */
public final class ExecProbe implements Probe {
    static final String OBJECT_RESOURCE = "/bpf/exec.bpf.o";
    /* Attached whatever the comm source. */
    private static final List<String> CGROUP_PROGRAMS = List.of("exec_cgroup_rmdir");
    private static final Logger LOG = Logger.getLogger(ExecProbe.class.getName());

    /** How bpf/exec.bpf.c learns the comm the calling thread had before exec renamed it. */
    public enum CommSource {
        /**
         * Linux 6.10+: one program on sched_prepare_exec, which runs in the
         * calling thread before the rename. No syscall tracepoint, so other
         * syscalls pay nothing, and 32-bit compat execs get their comm too.
         */
        PREPARE_EXEC("sched:sched_prepare_exec", "sched_prepare_exec"),
        /**
         * Older kernels: stashed at sys_enter_execve{,at}, counted at
         * sched_process_exec, failed execs cleaned up at sys_exit. The
         * sys_enter tracepoints cost every syscall a second dispatch.
         */
        SYSCALL_STASH("sched:sched_process_exec and syscalls:sys_{enter,exit}_execve{,at}", "sys_enter_execve",
                "sys_enter_execveat", "sys_exit_execve", "sys_exit_execveat", "sched_process_exec");

        private final String tracepoints;
        private final List<String> programs;

        CommSource(String tracepoints, String... programs) {
            this.tracepoints = tracepoints;
            this.programs = List.of(programs);
        }

        /** PREPARE_EXEC where the kernel has that tracepoint. */
        public static CommSource forThisKernel() {
            return KernelBtf.hasTracepoint("sched_prepare_exec") ? PREPARE_EXEC : SYSCALL_STASH;
        }

        public List<String> programs() {
            return programs;
        }

        private String[] otherPrograms() {
            return Arrays.stream(values()).filter(source -> source != this).flatMap(source -> source.programs.stream())
                    .toArray(String[]::new);
        }
    }

    private final BpfObject object;
    private final CommSource commSource;
    private final List<BpfLink> links;
    private final SlotTable<ExecKey> execsByComm;
    private final BpfMap execsByCgroup;
    private final BpfMap commStash;
    private final BpfMap totals;

    private ExecProbe(BpfObject object, CommSource commSource, List<BpfLink> links) {
        this.object = object;
        this.commSource = commSource;
        this.links = links;
        this.execsByComm = SlotTable.open(object, "exec", "execs_by_slot", "execs_by_comm", ExecKey::read);
        this.execsByCgroup = object.map("execs_by_cgroup");
        this.commStash = object.map("exec_comm_stash");
        this.totals = object.map("exec_totals");
    }

    /**
     * Loads and attaches the probe.
     *
     * @param maxComms capacity of the per-comm map, as for {@link MemfdProbe#attach(int, BpfPins)}
     * @param commSource {@link CommSource#forThisKernel()}, or another one the kernel supports
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static ExecProbe attach(int maxComms, BpfPins pins, CommSource commSource) {
        if (maxComms < 1 || maxComms > MemfdProbe.MAX_MAX_COMMS) {
            throw new IllegalArgumentException("maxComms must be in [1, " + MemfdProbe.MAX_MAX_COMMS + "], got " + maxComms);
        }
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "exec");
        try {
            SlotTable.setCapacity(object, "exec", maxComms, "execs_by_slot");
            // libbpf resolves a tp_btf program's target only when it loads the program, so skipping
            // sched_prepare_exec lets the object load on kernels without it (checked with libbpf 1.1).
            object.skipPrograms(commSource.otherPrograms());
            List<BpfLink> links = object.loadAndAttach(pins, programs(commSource).toArray(String[]::new));
            LOG.info(() -> "attached to " + commSource.tracepoints + " and cgroup:cgroup_rmdir (per-comm map capacity "
                    + maxComms + ")");
            return new ExecProbe(object, commSource, links);
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    @Override
    public List<BpfObject.ProgramStats> programStats() {
        return object.programStats(programs(commSource));
    }

    private static List<String> programs(CommSource commSource) {
        return Stream.concat(commSource.programs().stream(), CGROUP_PROGRAMS.stream()).toList();
    }

    @Override
    public boolean isAttached() {
        return links.stream().allMatch(BpfLink::isAttached);
    }

    /** Reads every map. */
    public ExecCounts read() {
        SlotTable.Read<ExecKey> execs = execsByComm.read();
        CgroupCounts.Read byCgroup = CgroupCounts.of(execsByCgroup);
        int stashEntries = commStash.forEach((key, value) -> { });
        ExecTotals sum = ExecTotals.sumPerCpu(totals.lookupPerCpu(0), totals.paddedValueSize());
        return new ExecCounts(execs.counts(), byCgroup.counts(), sum, List.of(
                execsByComm.fill(execs),
                new MapFill(execsByCgroup.name(), byCgroup.entries(), execsByCgroup.maxEntries()),
                new MapFill(commStash.name(), stashEntries, commStash.maxEntries())));
    }

    @Override
    public void close() {
        object.close();
    }
}
