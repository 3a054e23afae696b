package io.memfdexporter.probe;

import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.KernelRequirements;

/**
 * bpf/exec_mappings.bpf.c, loaded from the jar and attached to the exit
 * tracepoints of mmap, mprotect and pkey_mprotect: calls that map a memfd
 * executable. Closing it detaches the programs and frees the maps.
 */
public final class ExecMappingProbe implements Probe {
    static final String OBJECT_RESOURCE = "/bpf/exec_mappings.bpf.o";
    static final String[] PROGRAMS = {"sys_exit_mmap", "sys_exit_mprotect", "sys_exit_pkey_mprotect",
            "exec_mappings_cgroup_rmdir"};
    private static final Logger LOG = Logger.getLogger(ExecMappingProbe.class.getName());

    private final BpfObject object;
    private final List<BpfLink> links;
    private final SlotTable<ExecMappingKey> mappingsByComm;
    private final BpfMap mappingsByCgroup;
    private final BpfMap totals;

    private ExecMappingProbe(BpfObject object, List<BpfLink> links) {
        this.object = object;
        this.links = links;
        this.mappingsByComm = SlotTable.open(object, "exec_mapping", "exec_mappings_by_slot", "exec_mappings_by_comm",
                ExecMappingKey::read);
        this.mappingsByCgroup = object.map("exec_mappings_by_cgroup");
        this.totals = object.map("exec_mapping_totals");
    }

    /**
     * Loads and attaches the probe, or logs once why it cannot count on this kernel.
     *
     * @param maxComms capacity of the per-comm map, as for {@link MemfdProbe#attach(int, BpfPins)}
     * @return empty when the kernel has no bpf_find_vma (Linux &lt; 5.17)
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static Optional<ExecMappingProbe> attachIfSupported(int maxComms, BpfPins pins) {
        if (!KernelRequirements.mayHaveFindVma()) {
            LOG.warning("executable memfd mappings are not counted and the memfd_exec_mappings_* metrics are absent:"
                    + " the kernel has no BPF helper bpf_find_vma (Linux " + KernelRequirements.FIND_VMA_LINUX + ")");
            return Optional.empty();
        }
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "exec_mappings");
        try {
            SlotTable.setCapacity(object, "exec_mapping", maxComms, "exec_mappings_by_slot");
            List<BpfLink> links = object.loadAndAttach(pins, PROGRAMS);
            LOG.info(() -> "attached to syscalls:sys_exit_{mmap,mprotect,pkey_mprotect} and cgroup:cgroup_rmdir (per-comm map capacity "
                    + maxComms + ")");
            return Optional.of(new ExecMappingProbe(object, links));
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    @Override
    public List<BpfObject.ProgramStats> programStats() {
        return object.programStats(List.of(PROGRAMS));
    }

    @Override
    public boolean isAttached() {
        return links.stream().allMatch(BpfLink::isAttached);
    }

    /** Reads every map. */
    public ExecMappingCounts read() {
        SlotTable.Read<ExecMappingKey> mappings = mappingsByComm.read();
        CgroupCounts.Read byCgroup = CgroupCounts.of(mappingsByCgroup);
        ExecMappingTotals sum = ExecMappingTotals.sumPerCpu(totals.lookupPerCpu(0), totals.paddedValueSize());
        return new ExecMappingCounts(mappings.counts(), byCgroup.counts(), sum, List.of(
                mappingsByComm.fill(mappings),
                new MapFill(mappingsByCgroup.name(), byCgroup.entries(), mappingsByCgroup.maxEntries())));
    }

    @Override
    public void close() {
        object.close();
    }
}
