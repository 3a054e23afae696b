package io.memfdexporter.bpf;

import java.nio.file.Path;

import jnr.ffi.Pointer;

/**
 * An attached BPF program; closing it detaches the program unless the link is
 * pinned, in which case the pin keeps it attached.
 */
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

    /**
     * The link's fd, owned by this link: for an iterator, what
     * {@link BpfIterator#open} creates iterations from.
     */
    synchronized int fd() {
        if (link == null) {
            throw new IllegalStateException("the link of BPF program " + programName + " is closed");
        }
        return libbpf.bpf_link__fd(link);
    }

    public synchronized boolean isAttached() {
        return link != null;
    }

    synchronized void pin(Path path) {
        int rc = libbpf.bpf_link__pin(link, path.toString());
        if (rc < 0) {
            throw new BpfException("pinning the link of BPF program " + programName + " at " + path, -rc);
        }
    }

    /*
     * For a tracepoint link it created, libbpf's bpf_link__destroy also disables
     * the perf event; a pinned link still holds it, and its program keeps running:
     * the kernel calls tracepoint programs whether the event is enabled or not
     * (PinningKernelTest counts calls made after such a close).
     */
    @Override
    public synchronized void close() {
        if (link != null) {
            libbpf.bpf_link__destroy(link);
            link = null;
        }
    }
}
