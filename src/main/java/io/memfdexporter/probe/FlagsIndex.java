package io.memfdexporter.probe;

/**
 * bpf/memfd.h's calls_by_flags index: the flags argument packed into 11 bits,
 * the five flag bits then the huge page size field; FLAGS_INDEX_INVALID for
 * any argument with an undefined bit.
 */
final class FlagsIndex {
    static final int INVALID = 2048;
    /** What {@link #flags} gives for {@link #INVALID}: all ones, a value with undefined bits. */
    static final int INVALID_FLAGS = 0xFFFFFFFF;
    private static final int BIT_FLAGS = 0x1F;
    private static final int BIT_FLAGS_COUNT = 5;
    private static final int HUGE_SHIFT = 26;

    private FlagsIndex() {
    }

    /** The flags argument counted at an index. */
    static int flags(int index) {
        if (index == INVALID) {
            return INVALID_FLAGS;
        }
        return (index & BIT_FLAGS) | ((index >>> BIT_FLAGS_COUNT) << HUGE_SHIFT);
    }
}
