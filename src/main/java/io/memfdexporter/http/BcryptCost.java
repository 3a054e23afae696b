package io.memfdexporter.http;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

import org.springframework.security.crypto.bcrypt.BCrypt;

/**
 * How long one bcrypt check of a given cost takes on this machine: a check at a
 * low cost is measured once, and each cost step doubles the time (bcrypt runs
 * 2^cost rounds of its key schedule). A hash whose check would take more than
 * {@link #MAX_CHECK} is refused at startup: checks run one at a time, and
 * Prometheus gives up a scrape after 10 s by default, so a new scraper must
 * get its check, and a few others queued before it, well within that.
 */
final class BcryptCost {
    static final Duration MAX_CHECK = Duration.ofSeconds(1);
    /* bcrypt's valid costs. */
    static final int MIN = 4;
    static final int MAX = 31;
    /* Cheap enough to measure at every start (a few ms), long enough for the fixed overhead to be small. */
    private static final int PROBE_COST = 6;
    /*
     * The fastest of a few runs, in CPU time of this thread: the first runs come before the JIT compiled bcrypt,
     * and other processes' load would otherwise count as the cost of bcrypt (and refuse a fine hash on a busy host).
     */
    private static final int PROBE_RUNS = 8;
    private static final String PROBE_SALT = String.format(Locale.ROOT, "$2a$%02d$%s", PROBE_COST, "memfdexporterbcryptpro");

    private BcryptCost() {
    }

    private static final class Probe {
        static final long NANOS = measure();

        private static long measure() {
            byte[] password = "memfd_exporter timing probe".getBytes(StandardCharsets.US_ASCII);
            long fastest = Long.MAX_VALUE;
            ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
            for (int run = 0; run < PROBE_RUNS; run++) {
                long start = cpu.getCurrentThreadCpuTime();
                BCrypt.hashpw(password, PROBE_SALT);
                fastest = Math.min(fastest, cpu.getCurrentThreadCpuTime() - start);
            }
            return fastest;
        }
    }

    /** The time of one check at {@code cost} (4 to 31) here, extrapolated from the measured probe. */
    static Duration checkTime(int cost) {
        return Duration.ofNanos((long) Math.min(Long.MAX_VALUE, Probe.NANOS * Math.pow(2, cost - PROBE_COST)));
    }

    /** The highest cost whose check fits {@link #MAX_CHECK} here; below {@link #MIN} on a very slow machine. */
    static int maxUsableCost() {
        int cost = MIN;
        while (cost < MAX && checkTime(cost + 1).compareTo(MAX_CHECK) <= 0) {
            cost++;
        }
        return checkTime(cost).compareTo(MAX_CHECK) <= 0 ? cost : MIN - 1;
    }

    /** "4.6 ms", "0.52 s", "12 min", "2.3 days": for one-line error messages. */
    static String describe(Duration time) {
        double seconds = time.toNanos() / 1e9;
        if (seconds < 0.1) {
            return String.format(Locale.ROOT, "%.1f ms", seconds * 1e3);
        }
        if (seconds < 100) {
            return String.format(Locale.ROOT, "%.2g s", seconds);
        }
        if (seconds < 2 * 3600) {
            return String.format(Locale.ROOT, "%.0f min", seconds / 60);
        }
        if (seconds < 2 * 86400) {
            return String.format(Locale.ROOT, "%.0f h", seconds / 3600);
        }
        return String.format(Locale.ROOT, "%.0f days", seconds / 86400);
    }
}
