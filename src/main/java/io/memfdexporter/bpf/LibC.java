package io.memfdexporter.bpf;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;

/** The few libc functions the loader needs beside libbpf. */
public interface LibC {
    @SaveError
    int mount(String source, String target, String fsType, long flags, Pointer data);

    @SaveError
    int umount2(String target, int flags);

    int close(int fd);

    /** {@code ssize_t read(int, void *, size_t)}: bytes read, 0 at the end, -1 with errno. */
    @SaveError
    long read(int fd, Pointer buffer, @size_t long count);

    @SaveError
    int open(String path, int flags);

    /** BSD lock on an open file description: released when its last fd is closed, a crash included. */
    @SaveError
    int flock(int fd, int operation);

    /** {@code void *mmap(...)}: the address, or MAP_FAILED (-1) with errno. */
    @SaveError
    Pointer mmap(Pointer address, @size_t long length, int protection, int flags, int fd, @off_t long offset);

    int munmap(Pointer address, @size_t long length);

    int getpagesize();

    int vsnprintf(Pointer buffer, @size_t long size, String format, Pointer vaList);
}
