package io.memfdexporter.probe;

import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

import io.memfdexporter.bpf.BpfLink;
import io.memfdexporter.bpf.BpfMap;
import io.memfdexporter.bpf.BpfObject;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.MissingTracepointException;

/**
 * bpf/secret.bpf.c, loaded from the jar and attached to the memfd_secret exit
 * tracepoint, which kernels built without CONFIG_SECRETMEM do not have.
 * Closing it detaches the program and frees the maps.
 */
public final class SecretProbe implements Probe {
    static final String OBJECT_RESOURCE = "/bpf/secret.bpf.o";
    static final String PROGRAM = "sys_exit_memfd_secret";
    private static final Logger LOG = Logger.getLogger(SecretProbe.class.getName());

    private final BpfObject object;
    private final List<BpfLink> links;
    private final SlotTable<CommKey> callsByComm;
    private final SlotTable<FailureKey> failuresByComm;
    private final BpfMap totals;

    private SecretProbe(BpfObject object, List<BpfLink> links) {
        this.object = object;
        this.links = links;
        this.callsByComm = SlotTable.open(object, "secret_comm", "secret_calls_by_slot", "secret_calls_by_comm",
                CommKey::read);
        this.failuresByComm = SlotTable.open(object, "secret_failure", "secret_failures_by_slot",
                "secret_failures_by_comm", FailureKey::read);
        this.totals = object.map("secret_totals");
    }

    /**
     * Loads and attaches the probe, or logs once why it cannot count on this kernel.
     *
     * @param maxComms capacity of the per-comm maps (calls and failures)
     * @return empty when the kernel has no memfd_secret tracepoint
     * @throws BpfUnavailableException with a message for a human when this host or process cannot run it
     */
    public static Optional<SecretProbe> attachIfSupported(int maxComms, BpfPins pins) {
        BpfObject object = BpfObject.openResource(OBJECT_RESOURCE, "secret");
        try {
            SlotTable.setCapacity(object, "secret_comm", maxComms, "secret_calls_by_slot");
            SlotTable.setCapacity(object, "secret_failure", maxComms, "secret_failures_by_slot");
            List<BpfLink> links = object.loadAndAttach(pins, PROGRAM);
            LOG.info("attached to syscalls:sys_exit_memfd_secret");
            return Optional.of(new SecretProbe(object, links));
        } catch (MissingTracepointException e) {
            object.close();
            LOG.warning("memfd_secret(2) is not counted and the memfd_secret_* metrics are absent: the kernel has"
                    + " no tracepoint syscalls:" + PROGRAM + " (built without CONFIG_SECRETMEM)");
            return Optional.empty();
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    @Override
    public List<BpfObject.ProgramStats> programStats() {
        return object.programStats(List.of(PROGRAM));
    }

    @Override
    public boolean isAttached() {
        return links.stream().allMatch(BpfLink::isAttached);
    }

    /** Reads every map. */
    public SecretCounts read() {
        SlotTable.Read<CommKey> calls = callsByComm.read();
        SlotTable.Read<FailureKey> failures = failuresByComm.read();
        SecretTotals sum = SecretTotals.sumPerCpu(totals.lookupPerCpu(0), totals.paddedValueSize());
        return new SecretCounts(calls.counts(), failures.counts(), sum,
                List.of(callsByComm.fill(calls), failuresByComm.fill(failures)));
    }

    @Override
    public void close() {
        object.close();
    }
}
