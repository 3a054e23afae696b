package io.memfdexporter.bpf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * What the exporter's BPF programs need from the kernel, probed one by one
 * before anything is loaded, so that an older kernel is refused with what it
 * lacks and which Linux release provides it, instead of the verifier's EINVAL.
 * The kernel's capabilities are probed (tiny programs loaded and unloaded at
 * once, libbpf's helper and program type probes), never its version number,
 * so a distribution kernel with backported features passes.
 */
public final class KernelRequirements {
    /** The oldest mainline release that has every requirement: the newest of theirs. */
    public static final String MINIMUM = "5.15";

    /* include/uapi/linux/bpf.h: enum bpf_prog_type, enum bpf_func_id. */
    private static final int BPF_PROG_TYPE_TRACEPOINT = 5;
    private static final int BPF_PROG_TYPE_SYSCALL = 31;
    private static final int BPF_FUNC_PROBE_READ_KERNEL = 113;
    private static final int BPF_FUNC_JIFFIES64 = 118;
    private static final int BPF_FUNC_GET_CURRENT_TASK_BTF = 158;
    private static final int BPF_FUNC_FOR_EACH_MAP_ELEM = 164;
    private static final int BPF_FUNC_TASK_PT_REGS = 175;
    private static final int BPF_FUNC_FIND_VMA = 180;
    /** The release that added bpf_find_vma, which only the executable-mapping probe needs. */
    public static final String FIND_VMA_LINUX = "5.17";

    private static final Path VMLINUX_BTF = Path.of("/sys/kernel/btf/vmlinux");
    /* The probes' answers: anything but these (e.g. -EPERM) means the probe could not tell. */
    private static final int SUPPORTED = 1;
    private static final int MISSING = 0;

    /**
     * One capability the programs use, how to probe it, and the first mainline release that has it.
     * The probe returns 1 (present), 0 (absent) or a negative errno (cannot tell).
     */
    record Requirement(String what, String linux, ToIntFunction<Native> probe) {
        static Requirement helper(String name, int helperId, String linux) {
            return new Requirement("the BPF helper " + name, linux,
                    nat -> nat.libbpf().libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, helperId, null));
        }
    }

    /** In the order the kernel gained them. */
    static final List<Requirement> ALL = List.of(
            new Requirement("kernel BTF (" + VMLINUX_BTF + ", CONFIG_DEBUG_INFO_BTF)", "5.4",
                    nat -> Files.isReadable(VMLINUX_BTF) ? SUPPORTED : MISSING),
            Requirement.helper("bpf_probe_read_kernel", BPF_FUNC_PROBE_READ_KERNEL, "5.5"),
            Requirement.helper("bpf_jiffies64", BPF_FUNC_JIFFIES64, "5.5"),
            Requirement.helper("bpf_get_current_task_btf", BPF_FUNC_GET_CURRENT_TASK_BTF, "5.11"),
            new Requirement("BPF atomic instructions (fetch-and-add, compare-and-swap)", "5.12",
                    KernelRequirements::probeAtomics),
            Requirement.helper("bpf_for_each_map_elem", BPF_FUNC_FOR_EACH_MAP_ELEM, "5.13"),
            new Requirement("BPF syscall programs (BPF_PROG_TYPE_SYSCALL)", "5.14",
                    nat -> nat.libbpf().libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, null)),
            Requirement.helper("bpf_task_pt_regs", BPF_FUNC_TASK_PT_REGS, MINIMUM));

    private KernelRequirements() {
    }

    /**
     * Refuses a kernel that lacks what the programs need, after checking that
     * this process may use BPF at all (the probes load programs).
     *
     * @throws BpfUnavailableException naming every missing capability and the release that has it
     */
    public static void check() {
        Capabilities.ofThisProcess().requireTracing();
        Native nat = Native.get();
        LibbpfLogging.install(nat); // what libbpf says while probing goes to the log, not raw to stderr
        List<Requirement> missing = missing(nat, ALL);
        if (!missing.isEmpty()) {
            throw new BpfUnavailableException(refusal(kernelRelease(), missing));
        }
    }

    /**
     * False when the kernel surely lacks bpf_find_vma for tracepoint programs
     * (Linux < {@value #FIND_VMA_LINUX}); true when it has it or the probe
     * cannot tell (then the load decides).
     */
    public static boolean mayHaveFindVma() {
        return Native.get().libbpf().libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_FIND_VMA, null) != MISSING;
    }

    /** Those requirements the kernel lacks for sure; one a probe cannot decide is left to the load to report. */
    static List<Requirement> missing(Native nat, List<Requirement> requirements) {
        List<Requirement> missing = new ArrayList<>();
        for (Requirement requirement : requirements) {
            if (requirement.probe().applyAsInt(nat) == MISSING) {
                missing.add(requirement);
            }
        }
        return missing;
    }

    /** The one line the exporter prints (after "memfd_exporter: ") before it exits 1. */
    static String refusal(String release, List<Requirement> missing) {
        return "the kernel (Linux " + release + ") lacks what the BPF programs need: "
                + missing.stream().map(r -> r.what() + " (Linux " + r.linux() + ")").collect(Collectors.joining(", "))
                + "; memfd_exporter needs Linux " + MINIMUM + " or later, with BTF";
    }

    static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            return "release unknown";
        }
    }

    /*
     * A tracepoint program that does on its stack what the counters do in maps:
     * r0 = 0; *(u64 *)(r10 - 8) = 0; r1 = 1;
     * r1 = atomic_fetch_add((u64 *)(r10 - 8), r1); r0 = cmpxchg((u64 *)(r10 - 8), r0, r1); r0 = 0; exit.
     * Older kernels refuse the encodings ("BPF_STX uses reserved fields", EINVAL).
     */
    private static final long[] ATOMICS_PROGRAM = {
        insn(0xb7, 0, 0, 0, 0),      // BPF_MOV64_IMM(R0, 0)
        insn(0x7a, 10, 0, -8, 0),    // BPF_ST_MEM(BPF_DW, R10, -8, 0)
        insn(0xb7, 1, 0, 0, 1),      // BPF_MOV64_IMM(R1, 1)
        insn(0xdb, 10, 1, -8, 0x01), // BPF_ATOMIC_OP(BPF_DW, BPF_ADD | BPF_FETCH, R10, R1, -8)
        insn(0xdb, 10, 1, -8, 0xf1), // BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, R10, R1, -8)
        insn(0xb7, 0, 0, 0, 0),      // BPF_MOV64_IMM(R0, 0)
        insn(0x95, 0, 0, 0, 0),      // BPF_EXIT_INSN()
    };

    /** {@code struct bpf_insn} as one little-endian u64: code, dst_reg:4 | src_reg:4, s16 off, s32 imm. */
    private static long insn(int code, int dst, int src, int off, int imm) {
        return (code & 0xffL) | (long) (dst | src << 4) << 8 | (off & 0xffffL) << 16 | (imm & 0xffffffffL) << 32;
    }

    private static int probeAtomics(Native nat) {
        Pointer insns = Memory.allocateDirect(nat.runtime(), ATOMICS_PROGRAM.length * Long.BYTES, true);
        for (int i = 0; i < ATOMICS_PROGRAM.length; i++) {
            insns.putLong(i * (long) Long.BYTES, ATOMICS_PROGRAM[i]);
        }
        int fd = nat.libbpf().bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "memfd_atomics", "GPL", insns,
                ATOMICS_PROGRAM.length, null);
        if (fd >= 0) {
            nat.libc().close(fd);
            return SUPPORTED;
        }
        return fd == -Errnos.EINVAL ? MISSING : fd; // the verifier's answer to an instruction it does not know
    }
}
