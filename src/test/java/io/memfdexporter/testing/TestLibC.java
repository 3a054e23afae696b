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

    TestLibC INSTANCE = LibraryLoader.create(TestLibC.class).failImmediately().load("c");

    /** Renames the calling thread: its comm is what the probe records. */
    @SaveError
    int prctl(int option, byte[] name, long arg3, long arg4, long arg5);

    @SaveError
    int memfd_create(String name, int flags);

    int close(int fd);

    static int lastErrno() {
        return Runtime.getRuntime(INSTANCE).getLastError();
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
