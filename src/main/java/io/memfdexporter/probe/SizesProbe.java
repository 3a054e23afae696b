package io.memfdexporter.probe;

import java.util.List;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;

/**
 * bpf/sizes.bpf.c, loaded from the jar and attached to the ftruncate and
 * fallocate exit tracepoints: the sizes successful calls requested for
 * memfds. Closing it detaches the programs and frees the maps.
 */
public final class SizesProbe implements Probe {
    static final String OBJECT_RESOURCE = "/bpf/sizes.bpf.o";
    static final String[] PROGRAMS = {"sys_exit_ftruncate", "sys_exit_fallocate", "sizes_cgroup_rmdir"};
    private static final Logger LOG = Logger.getLogger(SizesProbe.class.getName());

    private final BpfObject object;
    private final List<BpfLink> links;
    private final SlotTable<CommKey> bytesByComm;
    private final BpfMap sizes;
    private final BpfMap unrecordedBytes;
    private final BpfMap unsummedBytes;
    private final BpfMap bytesByCgroup;
    private final BpfMap cgroupTotals;

    private SizesProbe(BpfObject object, List<BpfLink> links) {
        this.object = object;
        this.links = links;
        this.bytesByComm = SlotTable.open(object, "size_comm", "requested_bytes_by_slot", "requested_bytes_by_comm",
                CommKey::read);
        this.sizes = object.map("requested_sizes");
        this.unrecordedBytes = object.map("unrecorded_bytes");
        this.unsummedBytes = object.map("unsummed_bytes");
        this.bytesByCgroup = object.map("requested_bytes_by_cgroup");
        this.cgroupTotals = object.map("cgroup_bytes_totals");
    }

    /**
     * Loads and attaches the probe.
     *
     * @param maxComms capacity of the bytes-per-comm map
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static SizesProbe attach(int maxComms, BpfPins pins) {
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "sizes");
        try {
            SlotTable.setCapacity(object, "size_comm", maxComms, "requested_bytes_by_slot");
            List<BpfLink> links = object.loadAndAttach(pins, PROGRAMS);
            LOG.info("attached to syscalls:sys_exit_{ftruncate,fallocate} and cgroup:cgroup_rmdir");
            return new SizesProbe(object, links);
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
    public SizesCounts read() {
        SlotTable.Read<CommKey> bytes = bytesByComm.read();
        CgroupCounts.Read byCgroup = CgroupCounts.of(bytesByCgroup);
        Log2Histogram histogram = Log2Histogram.sumPerCpu(sizes.lookupPerCpu(0), sizes.paddedValueSize());
        CgroupBytesTotals cgroupSums = CgroupBytesTotals.sumPerCpu(cgroupTotals.lookupPerCpu(0), cgroupTotals.paddedValueSize());
        return new SizesCounts(histogram, bytes.counts(), unrecordedBytes.sumPerCpu(0), unsummedBytes.sumPerCpu(0), byCgroup.counts(),
                cgroupSums, List.of(
                        bytesByComm.fill(bytes),
                        new MapFill(bytesByCgroup.name(), byCgroup.entries(), bytesByCgroup.maxEntries())));
    }

    @Override
    public void close() {
        object.close();
    }
}
