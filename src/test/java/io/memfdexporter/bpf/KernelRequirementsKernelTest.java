package io.memfdexporter.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.testing.RequiresBpf;

/**
 * The startup check probes the kernel itself. A kernel below the minimum
 * (Debian 11's 5.10) is refused with the line asserted here by
 * scripts/kernel-matrix.sh, which boots it.
 */
@ExtendWith(RequiresBpf.class)
class KernelRequirementsKernelTest {
    @Test
    void everyProbeFindsItsCapabilityOnThisKernel() {
        Native nat = Native.get();
        Map<String, Integer> answers = new LinkedHashMap<>();
        Map<String, Integer> expected = new LinkedHashMap<>();
        for (KernelRequirements.Requirement requirement : KernelRequirements.ALL) {
            answers.put(requirement.what(), requirement.probe().applyAsInt(nat));
            expected.put(requirement.what(), 1);
        }
        // 1 for each, not a negative "cannot tell" that would let a too old kernel pass.
        assertEquals(expected, answers);
        KernelRequirements.check();
    }

    @Test
    void aHelperTheKernelDoesNotKnowIsMissing() {
        KernelRequirements.Requirement unknown = KernelRequirements.Requirement.helper("bpf_from_the_future", 100_000, "99.0");
        KernelRequirements.Requirement known = KernelRequirements.ALL.get(KernelRequirements.ALL.size() - 1);
        assertEquals(List.of(unknown), KernelRequirements.missing(Native.get(), List.of(known, unknown)));
    }

    @Test
    void theRefusalNamesWhatIsMissingAndTheReleaseThatHasIt() {
        List<KernelRequirements.Requirement> from511 = KernelRequirements.ALL.subList(3, KernelRequirements.ALL.size());
        assertEquals("the kernel (Linux 5.10.0-32-amd64) lacks what the BPF programs need:"
                + " the BPF helper bpf_get_current_task_btf (Linux 5.11),"
                + " BPF atomic instructions (fetch-and-add, compare-and-swap) (Linux 5.12),"
                + " the BPF helper bpf_for_each_map_elem (Linux 5.13),"
                + " BPF syscall programs (BPF_PROG_TYPE_SYSCALL) (Linux 5.14),"
                + " the BPF helper bpf_task_pt_regs (Linux 5.15);"
                + " memfd_exporter needs Linux 5.15 or later, with BTF",
                KernelRequirements.refusal("5.10.0-32-amd64", from511));
    }
}
