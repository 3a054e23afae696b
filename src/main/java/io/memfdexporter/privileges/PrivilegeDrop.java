package io.memfdexporter.privileges;

import java.lang.ref.Reference;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import io.memfdexporter.bpf.Errnos;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Drops, once the BPF programs are attached, every privilege the running
 * exporter no longer needs, from every thread of the JVM.
 * <p>
 * Capabilities are per thread, and capset(2) and prctl(2) change only the
 * calling thread, while the JVM runs dozens (GC, JIT, vert.x). Two kernel
 * mechanisms reach them all:
 * <ul>
 * <li>glibc's setgroups/setresgid/setresuid change every thread (the "setxid"
 * broadcast), and a thread whose user ids all leave 0 loses its permitted,
 * effective and ambient capabilities. A root exporter therefore becomes uid and
 * gid 65534 (nobody/nogroup) with no capability at all; it also stops owning
 * root's files, and turns non-dumpable, so no other process of uid 65534 can
 * ptrace it to take its BPF fds;</li>
 * <li>seccomp with SECCOMP_FILTER_FLAG_TSYNC installs a filter on every thread
 * and copies the caller's no_new_privs to each: the filter allows everything,
 * it is there for no_new_privs, which stops execve from gaining privileges
 * (setuid binaries, file capabilities) on any thread.</li>
 * </ul>
 * The bounding set is left as is: only a thread can shrink its own, and it
 * only limits what execve may grant, which no_new_privs reduces to nothing.
 * <p>
 * Scraping needs no capability since Linux 6.5 (map lookups, BPF_PROG_TEST_RUN
 * and /proc/self/fdinfo work on fds the process holds). Older kernels with
 * kernel.unprivileged_bpf_disabled set want CAP_BPF for every bpf() call, so
 * before dropping anything a scrape is tried with the calling thread's effective
 * capabilities emptied; if it fails, privileges are kept, with a warning.
 */
public final class PrivilegeDrop {
    /** The overflow uid and gid ("nobody", "nogroup"). */
    public static final int NOBODY = 65534;
    private static final Logger LOG = Logger.getLogger(PrivilegeDrop.class.getName());
    private static final String OPT_OUT = "--no-runtime.drop-privileges";
    private static final Map<String, Long> SECCOMP_SYSCALL = Map.of("amd64", 317L, "aarch64", 277L);
    private static final int SECCOMP_SET_MODE_FILTER = 1;
    private static final int SECCOMP_FILTER_FLAG_TSYNC = 1;
    /* struct sock_filter { u16 code; u8 jt, jf; u32 k; }: BPF_RET|BPF_K, SECCOMP_RET_ALLOW. */
    private static final short BPF_RET_K = 0x06;
    private static final int SECCOMP_RET_ALLOW = 0x7fff0000;
    /* include/uapi/linux/capability.h */
    private static final long CAP_SETGID = 1L << 6;
    private static final long CAP_SETUID = 1L << 7;

    private PrivilegeDrop() {
    }

    /**
     * @param scrape a scrape, tried without capabilities before any are dropped; throws if it fails
     * @throws PrivilegeDropException when a step fails; the process may then hold fewer privileges than before
     */
    public static void afterAttach(Runnable scrape) {
        CredentialsLibC libc = CredentialsLibC.load();
        ThreadCredentials self = ThreadCredentials.ofCallingThread();
        // A container's root often holds only the capabilities it was given: say which two are missing, before
        // anything changed, rather than a bare EPERM from setgroups.
        if (self.isRoot() && (self.effective() & (CAP_SETUID | CAP_SETGID)) != (CAP_SETUID | CAP_SETGID)) {
            throw new PrivilegeDropException("cannot drop privileges: becoming uid " + NOBODY + " needs CAP_SETUID and"
                    + " CAP_SETGID, which this root process lacks (it holds " + CapabilityNames.describe(self.effective())
                    + "): grant both, as deploy/ does (they go with everything else), or run with " + OPT_OUT);
        }
        setNoNewPrivsOnEveryThread(libc);
        if (!self.isRoot()) {
            if (self.permitted() != 0) {
                LOG.warning("running as uid " + self.uids().get(0) + ": capabilities " + CapabilityNames.describe(self.permitted())
                        + " stay, since only a process started as root can drop capabilities from every thread;"
                        + " no_new_privs is set on every thread");
            } else {
                LOG.info("running as uid " + self.uids().get(0) + " without capabilities; no_new_privs is set on every thread");
            }
            return;
        }
        String failure = scrapeFailureWithoutCapabilities(libc, scrape);
        if (failure != null) {
            LOG.warning("privileges kept: a scrape without capabilities fails on this kernel (" + failure + ");"
                    + " Linux before 6.5 wants CAP_BPF for every bpf() call while kernel.unprivileged_bpf_disabled is set."
                    + " no_new_privs is set on every thread");
            return;
        }
        check(libc, libc.setgroups(0, null), "setgroups([])");
        check(libc, libc.setresgid(NOBODY, NOBODY, NOBODY), "setresgid(" + NOBODY + ")");
        check(libc, libc.setresuid(NOBODY, NOBODY, NOBODY), "setresuid(" + NOBODY + ")");
        List<ThreadCredentials> threads = ThreadCredentials.ofAllThreads();
        String offenders = threads.stream().filter(thread -> !isDropped(thread)).map(ThreadCredentials::toString)
                .collect(Collectors.joining("; "));
        if (!offenders.isEmpty()) {
            throw new PrivilegeDropException("privileges were not dropped from every thread: " + offenders);
        }
        LOG.info("dropped privileges: all " + threads.size() + " threads run as uid " + NOBODY + " and gid " + NOBODY
                + " with no capabilities and no_new_privs (scraping needs none on this kernel); dropped "
                + CapabilityNames.describe(self.permitted() | self.effective() | self.ambient()));
    }

    private static boolean isDropped(ThreadCredentials thread) {
        return thread.uids().stream().allMatch(id -> id == NOBODY) && thread.gids().stream().allMatch(id -> id == NOBODY)
                && (thread.inheritable() | thread.permitted() | thread.effective() | thread.ambient()) == 0
                && thread.noNewPrivs();
    }

    /** no_new_privs on this thread, then on all others through a seccomp filter that allows every call. */
    private static void setNoNewPrivsOnEveryThread(CredentialsLibC libc) {
        check(libc, libc.prctl(CredentialsLibC.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
        String arch = System.getProperty("os.arch");
        Long seccomp = SECCOMP_SYSCALL.get(arch);
        if (seccomp == null) {
            throw new PrivilegeDropException("cannot set no_new_privs on every thread on " + arch + ": run with " + OPT_OUT);
        }
        Runtime runtime = Runtime.getRuntime(libc);
        Pointer filter = Memory.allocateDirect(runtime, 8, true);
        filter.putShort(0, BPF_RET_K);
        filter.putInt(4, SECCOMP_RET_ALLOW);
        Pointer program = Memory.allocateDirect(runtime, 16, true); // struct sock_fprog { u16 len; filter* }
        program.putShort(0, (short) 1);
        program.putPointer(8, filter);
        long rc = libc.syscall(seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, program);
        // The kernel copies the filter, which only program's bytes point to, during the call: keep both until
        // it returned (jnr frees direct memory once its Pointer is collected).
        Reference.reachabilityFence(filter);
        Reference.reachabilityFence(program);
        if (rc > 0) {
            throw new PrivilegeDropException("cannot set no_new_privs on every thread: thread " + rc
                    + " has a different seccomp filter; run with " + OPT_OUT);
        }
        check(libc, (int) rc, "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)");
    }

    /**
     * Runs the scrape with this thread's effective capabilities emptied, then
     * raises them again from the permitted set (setxid would abort the process
     * if any thread lacked CAP_SETUID or CAP_SETGID); null if the scrape works.
     */
    private static String scrapeFailureWithoutCapabilities(CredentialsLibC libc, Runnable scrape) {
        Runtime runtime = Runtime.getRuntime(libc);
        Pointer header = Memory.allocateDirect(runtime, 8, true); // { u32 version; int pid = 0: this thread }
        header.putInt(0, CredentialsLibC.LINUX_CAPABILITY_VERSION_3);
        Pointer data = Memory.allocateDirect(runtime, 24, true); // 2 x { u32 effective, permitted, inheritable }
        check(libc, libc.capget(header, data), "capget");
        int effectiveLow = data.getInt(0);
        int effectiveHigh = data.getInt(12);
        data.putInt(0, 0);
        data.putInt(12, 0);
        check(libc, libc.capset(header, data), "capset");
        try {
            scrape.run();
            return null;
        } catch (RuntimeException e) {
            return String.valueOf(e);
        } finally {
            data.putInt(0, effectiveLow);
            data.putInt(12, effectiveHigh);
            int rc = libc.capset(header, data);
            Reference.reachabilityFence(header);
            Reference.reachabilityFence(data);
            check(libc, rc, "capset");
        }
    }

    private static void check(CredentialsLibC libc, int rc, String call) {
        if (rc != 0) {
            throw new PrivilegeDropException("cannot drop privileges: " + call + " failed with "
                    + Errnos.describe(libc.lastErrno()) + "; run with " + OPT_OUT + " to keep them");
        }
    }
}
