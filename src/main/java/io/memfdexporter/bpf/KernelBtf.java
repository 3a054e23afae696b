package io.memfdexporter.bpf;

import jnr.ffi.Pointer;

/** What the running kernel's BTF says it has, for choosing between programs before a load. */
public final class KernelBtf {
    /* include/uapi/linux/btf.h */
    private static final int BTF_KIND_TYPEDEF = 8;

    private KernelBtf() {
    }

    /**
     * Whether {@code SEC("tp_btf/NAME")} can attach here: the kernel declares
     * every tracepoint it has as a typedef {@code btf_trace_NAME}.
     *
     * @throws BpfUnavailableException when the kernel has no BTF (which every program of the exporter needs)
     */
    public static boolean hasTracepoint(String name) {
        Native nat = Native.get();
        LibBpf libbpf = nat.libbpf();
        Pointer btf = libbpf.btf__load_vmlinux_btf();
        if (btf == null) {
            throw new BpfUnavailableException(new BpfException("reading the kernel's BTF (/sys/kernel/btf/vmlinux)",
                    nat.lastErrno()).getMessage() + ": the kernel must be built with CONFIG_DEBUG_INFO_BTF");
        }
        try {
            return libbpf.btf__find_by_name_kind(btf, "btf_trace_" + name, BTF_KIND_TYPEDEF) > 0;
        } finally {
            libbpf.btf__free(btf);
        }
    }
}
