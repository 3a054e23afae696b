package io.memfdexporter.privileges;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;

/**
 * The libc calls that change credentials. glibc applies setgroups, setresgid
 * and setresuid to every thread of the process (its "setxid" broadcast);
 * prctl and capset change the calling thread only. Public only because jnr-ffi
 * implements it in another class loader.
 */
public interface CredentialsLibC {
    int PR_SET_NO_NEW_PRIVS = 38;
    int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    static CredentialsLibC load() {
        return LibraryLoader.create(CredentialsLibC.class).failImmediately().load("c");
    }

    @SaveError
    int setgroups(@size_t long size, Pointer list);

    @SaveError
    int setresgid(int rgid, int egid, int sgid);

    @SaveError
    int setresuid(int ruid, int euid, int suid);

    @SaveError
    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    @SaveError
    int capget(Pointer header, Pointer data);

    @SaveError
    int capset(Pointer header, Pointer data);

    @SaveError
    long syscall(long number, long arg1, long arg2, Pointer arg3);

    default int lastErrno() {
        return Runtime.getRuntime(this).getLastError();
    }
}
