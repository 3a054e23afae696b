package io.memfdexporter.metrics;

import java.util.StringJoiner;

/**
 * Label values for memfd_create(2) flags arguments: e.g. {@code MFD_CLOEXEC|MFD_ALLOW_SEALING},
 * {@code MFD_HUGETLB|MFD_HUGE_2MB}, {@code none}, and {@code invalid} for any value with a bit
 * the kernel does not define. The kernel counts 2^11 well-formed values plus "invalid"
 * (bpf/memfd.h), so this label is bounded.
 */
public final class FlagNames {
    public static final String NONE = "none";
    public static final String INVALID = "invalid";

    private static final String[] BIT_NAMES = {
        "MFD_CLOEXEC", "MFD_ALLOW_SEALING", "MFD_HUGETLB", "MFD_NOEXEC_SEAL", "MFD_EXEC",
    };
    private static final int HUGE_SHIFT = 26;
    private static final int HUGE_MASK = 0x3F;
    private static final int KNOWN_FLAGS = 0x1F | (HUGE_MASK << HUGE_SHIFT);
    private static final String[] SIZE_UNITS = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};

    private FlagNames() {
    }

    public static String label(int flagsKey) {
        if ((flagsKey & ~KNOWN_FLAGS) != 0) {
            return INVALID;
        }
        if (flagsKey == 0) {
            return NONE;
        }
        StringJoiner names = new StringJoiner("|");
        for (int bit = 0; bit < BIT_NAMES.length; bit++) {
            if ((flagsKey & (1 << bit)) != 0) {
                names.add(BIT_NAMES[bit]);
            }
        }
        int hugePageShift = (flagsKey >>> HUGE_SHIFT) & HUGE_MASK;
        if (hugePageShift != 0) {
            names.add("MFD_HUGE_" + hugePageSize(hugePageShift));
        }
        return names.toString();
    }

    /** The kernel's naming of a huge page size 2^shift: MFD_HUGE_64KB is shift 16, MFD_HUGE_1GB shift 30. */
    static String hugePageSize(int shift) {
        return (1L << (shift % 10)) + SIZE_UNITS[shift / 10];
    }
}
