package io.memfdexporter.probe;

/**
 * bpf/memfd.h {@code MEMFD_NAME_KIND_*}: what an executed memfd's name, which
 * its creator chose, says about it, reduced to a fixed set.
 */
public enum MemfdNameKind {
    /** {@code MEMFD_NAME_KIND_OTHER}: any memfd execution that is not {@link #RUNC}, whatever its name. */
    OTHER,
    /**
     * {@code MEMFD_NAME_KIND_RUNC}: {@code runc_cloned:…}, the copy of itself runc executes on container
     * start, executed by a caller the kernel shows to be root's runc (bpf/exec.bpf.c {@code caller_is_runc}).
     */
    RUNC;

    static MemfdNameKind of(int value) {
        return switch (value) {
            case 0 -> OTHER;
            case 1 -> RUNC;
            default -> throw new IllegalArgumentException("no MEMFD_NAME_KIND " + value);
        };
    }
}
