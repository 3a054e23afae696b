package io.memfdexporter.bpf;

/**
 * The kernel's counters are {@code __u64}, held in a Java {@code long}: a sum
 * of sizes past 2^63 is negative as a long but not as a u64. These read
 * them as unsigned, and add them as the kernel does, saturating at 2^64 - 1
 * ({@code -1L}) instead of wrapping, so a sum never runs backwards.
 */
public final class U64 {
    /** 2^64 - 1, where the kernel's byte sums stop. */
    public static final long MAX = -1L;

    private U64() {
    }

    /** a + b as u64s, or {@link #MAX} if that does not fit. */
    public static long add(long a, long b) {
        long sum = a + b;
        return Long.compareUnsigned(sum, a) < 0 ? MAX : sum;
    }

    /** The u64 as a double, rounded to nearest as for any long; {@link #MAX} is 1.8446744073709552E19. */
    public static double toDouble(long value) {
        if (value >= 0) {
            return value;
        }
        // Halve (keeping the low bit so rounding stays correct), convert, double.
        return ((value >>> 1) | (value & 1)) * 2.0;
    }
}
