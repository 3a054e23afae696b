package io.memfdexporter.probe;

/**
 * bpf/memfd.h {@code EXEC_MAPPING_KIND_*}: what the kernel shows about a
 * memfd at the moment it was mapped executable (never its name), in the
 * order bpf/exec_mappings.bpf.c checks it.
 */
public enum ExecMappingKind {
    /** Neither below: written, then mapped executable (loaders, dlopen of a memfd, the MemoryDenyWriteExecute= bypass). */
    PLAIN("plain"),
    /** F_SEAL_WRITE or F_SEAL_FUTURE_WRITE: the contents can no longer change. */
    SEALED("sealed"),
    /** Another shared mapping of the same memfd is or may be made writable: code that can change while it runs (W^X JITs). */
    DOUBLE_MAPPED("double_mapped");

    private final String label;

    ExecMappingKind(String label) {
        this.label = label;
    }

    /** The value of the {@code kind} label. */
    public String label() {
        return label;
    }

    static ExecMappingKind of(int value) {
        if (value < 0 || value >= values().length) {
            throw new IllegalArgumentException("no EXEC_MAPPING_KIND " + value);
        }
        return values()[value];
    }
}
