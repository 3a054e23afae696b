package io.memfdexporter.testing;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/** libc calls the tests make to drive the kernel. */
public interface TestLibC {
    int PR_SET_NAME = 15;
    int MFD_CLOEXEC = 0x1;
    int MFD_ALLOW_SEALING = 0x2;
    int MFD_HUGETLB = 0x4;
    int MFD_NOEXEC_SEAL = 0x8;
    int MFD_EXEC = 0x10;
    int O_RDWR = 0x2;
    int O_CREAT = 0x40;
    int O_EXCL = 0x80;
    int O_CLOEXEC = 0x80000;
    int F_ADD_SEALS = 1033;
    int F_SEAL_SHRINK = 0x2;
    int F_SEAL_GROW = 0x4;
    int FALLOC_FL_KEEP_SIZE = 0x1;
    int FALLOC_FL_PUNCH_HOLE = 0x2;
    /** memfd_secret(2) on x86-64 (no glibc wrapper). */
    long SYS_MEMFD_SECRET = 447;

    TestLibC INSTANCE = LibraryLoader.create(TestLibC.class).failImmediately().load("c");

    /** Why tests of MFD_NOEXEC_SEAL and MFD_EXEC are skipped where {@link #hasNoexecSeal()} is false. */
    String NO_NOEXEC_SEAL = "memfd_create has no MFD_NOEXEC_SEAL or MFD_EXEC before Linux 6.3 (EINVAL)";

    /**
     * Whether memfd_create takes MFD_NOEXEC_SEAL and MFD_EXEC (Linux 6.3+). The probe
     * is one call with MFD_NOEXEC_SEAL alone, a flags value no test counts.
     */
    static boolean hasNoexecSeal() {
        int fd = INSTANCE.memfd_create("noexec-seal-probe", MFD_NOEXEC_SEAL);
        if (fd < 0) {
            return false;
        }
        INSTANCE.close(fd);
        return true;
    }

    /** Renames the calling thread: its comm is what the probe records. */
    @SaveError
    int prctl(int option, byte[] name, long arg3, long arg4, long arg5);

    @SaveError
    int memfd_create(String name, int flags);

    int close(int fd);

    @SaveError
    int open(String path, int flags, int mode);

    @SaveError
    int unlink(String path);

    @SaveError
    int ftruncate(int fd, long length);

    @SaveError
    int fallocate(int fd, int mode, long offset, long len);

    @SaveError
    int fcntl(int fd, int cmd, int arg);

    @SaveError
    long syscall(long number, long arg);

    /** Restricts a thread (0: the calling one) to the CPUs set in mask (a cpu_set_t). */
    @SaveError
    int sched_setaffinity(int tid, long maskSize, byte[] mask);

    /** Keeps the calling thread on one CPU: per-CPU kernel counters then see all its calls in one place. */
    static void pinToCpu(int cpu) {
        byte[] mask = new byte[128]; // sizeof(cpu_set_t)
        mask[cpu / 8] = (byte) (1 << (cpu % 8));
        check(INSTANCE.sched_setaffinity(0, mask.length, mask), "sched_setaffinity");
    }

    static int lastErrno() {
        return Runtime.getRuntime(INSTANCE).getLastError();
    }

    /** memfd_create; fails the test unless it succeeds. */
    static int memfd(String name, int flags) {
        return check(INSTANCE.memfd_create(name, flags), "memfd_create");
    }

    /** Fails the test with the errno when a libc call returned -1, else returns its result. */
    static int check(int result, String call) {
        if (result < 0) {
            throw new IllegalStateException(call + " failed: errno " + lastErrno());
        }
        return result;
    }

    /** memfd_create then close; returns the errno on failure, 0 on success. */
    static int memfdCreateAndClose(String name, int flags) {
        int fd = INSTANCE.memfd_create(name, flags);
        if (fd < 0) {
            return lastErrno();
        }
        INSTANCE.close(fd);
        return 0;
    }
}
