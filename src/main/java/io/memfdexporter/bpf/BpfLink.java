package io.memfdexporter.bpf;

import jnr.ffi.Pointer;

/** An attached BPF program; closing it detaches the program. */
public final class BpfLink implements AutoCloseable {
    private final LibBpf libbpf;
    private final String programName;
    private Pointer link;

    BpfLink(LibBpf libbpf, String programName, Pointer link) {
        this.libbpf = libbpf;
        this.programName = programName;
        this.link = link;
    }

    public String programName() {
        return programName;
    }

    public synchronized boolean isAttached() {
        return link != null;
    }

    @Override
    public synchronized void close() {
        if (link != null) {
            libbpf.bpf_link__destroy(link);
            link = null;
        }
    }
}
