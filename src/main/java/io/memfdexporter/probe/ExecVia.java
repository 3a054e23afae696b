package io.memfdexporter.probe;

/** bpf/memfd.h {@code EXEC_VIA_*}: how an executed memfd was run. */
public enum ExecVia {
    /** {@code EXEC_VIA_BINARY}: the memfd is the executable the kernel loaded. */
    BINARY("binary"),
    /**
     * {@code EXEC_VIA_INTERPRETER}: a binfmt handler ({@code #!} scripts, binfmt_misc) handed the memfd to an
     * interpreter, which the kernel loaded instead and which reads the memfd through its fd.
     */
    INTERPRETER("interpreter");

    private final String label;

    ExecVia(String label) {
        this.label = label;
    }

    /** The value of the {@code via} label. */
    public String label() {
        return label;
    }

    static ExecVia of(int value) {
        return switch (value) {
            case 0 -> BINARY;
            case 1 -> INTERPRETER;
            default -> throw new IllegalArgumentException("no EXEC_VIA " + value);
        };
    }
}
