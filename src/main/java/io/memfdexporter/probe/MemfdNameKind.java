package io.memfdexporter.probe;

/**
 * bpf/memfd.h {@code MEMFD_NAME_KIND_*}: what an executed memfd's name, which
 * its creator chose, says about it, reduced to a fixed set.
 */
public enum MemfdNameKind {
    /** {@code MEMFD_NAME_KIND_OTHER}: any name but runc's. */
    OTHER,
    /** {@code MEMFD_NAME_KIND_RUNC}: {@code runc_cloned:…}, the copy of itself runc executes on container start. */
    RUNC;

    static MemfdNameKind of(int value) {
        return switch (value) {
            case 0 -> OTHER;
            case 1 -> RUNC;
            default -> throw new IllegalArgumentException("no MEMFD_NAME_KIND " + value);
        };
    }
}
