package io.memfdexporter.bpf;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import jnr.constants.platform.linux.Errno;

/** Linux errno numbers to names ("EPERM") and descriptions. */
public final class Errnos {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    /** Also EWOULDBLOCK: flock(LOCK_NB) on a held lock. */
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;

    /* Linux aliases that share a number with the name strace and glibc print. */
    private static final Set<String> ALIASES = Set.of("EWOULDBLOCK", "EDEADLOCK", "ENOTSUP");
    private static final Map<Integer, Errno> BY_NUMBER = new HashMap<>();

    static {
        for (Errno errno : Errno.values()) {
            if (errno.defined() && !ALIASES.contains(errno.name())) {
                BY_NUMBER.putIfAbsent(errno.value(), errno);
            }
        }
    }

    private Errnos() {
    }

    /** The symbolic name, e.g. {@code EMFILE}, or {@code errno<N>} for a number Linux does not define. */
    public static String name(int errno) {
        Errno known = BY_NUMBER.get(errno);
        return known == null ? "errno" + errno : known.name();
    }

    /** e.g. {@code EPERM (Operation not permitted)}. */
    public static String describe(int errno) {
        Errno known = BY_NUMBER.get(errno);
        return known == null ? "errno " + errno : known.name() + " (" + known + ")";
    }
}
