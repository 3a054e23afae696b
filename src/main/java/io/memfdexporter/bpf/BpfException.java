package io.memfdexporter.bpf;

/** A libbpf or BPF syscall failure, with the errno it returned. */
public class BpfException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public BpfException(String operation, int errno) {
        super(operation + ": " + Errnos.describe(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
