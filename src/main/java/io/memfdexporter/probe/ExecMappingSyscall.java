package io.memfdexporter.probe;

/** bpf/memfd.h {@code EXEC_MAPPING_SYSCALL_*}: the call that mapped a memfd executable. */
public enum ExecMappingSyscall {
    MMAP("mmap"), MPROTECT("mprotect"), PKEY_MPROTECT("pkey_mprotect");

    private final String label;

    ExecMappingSyscall(String label) {
        this.label = label;
    }

    /** The syscall's name, the value of the {@code syscall} label. */
    public String label() {
        return label;
    }

    static ExecMappingSyscall of(int value) {
        if (value < 0 || value >= values().length) {
            throw new IllegalArgumentException("no EXEC_MAPPING_SYSCALL " + value);
        }
        return values()[value];
    }
}
