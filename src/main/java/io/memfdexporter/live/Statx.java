package io.memfdexporter.live;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

import io.memfdexporter.bpf.Errnos;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.NativeType;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.annotations.SaveError;

/**
 * statx(2) through libc, for the one number java.nio cannot give: st_blocks,
 * the space a file really uses (a memfd's apparent size says nothing about
 * how much of it is allocated). statx rather than stat because
 * {@code struct statx} has one layout on every architecture, while
 * {@code struct stat} differs between x86-64 and arm64.
 *
 * <p>Not thread-safe: every call fills the same native buffer (a scan runs on one thread).
 */
final class Statx {
    private static final int AT_FDCWD = -100;
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int STATX_NLINK = 0x4;
    private static final int STATX_INO = 0x100;
    private static final int STATX_SIZE = 0x200;
    private static final int STATX_BLOCKS = 0x400;
    /* st_blocks counts 512-byte units whatever the file system's block size (stat(2)). */
    private static final long BLOCK_BYTES = 512;

    /** The libc binding; public because jnr-ffi implements it from another class loader. */
    public interface LibC {
        @SaveError
        int statx(int dirfd, String path, int flags, int mask, Pointer buffer);
    }

    /**
     * {@code struct statx} from {@code <linux/stat.h>}, 256 bytes; the fields
     * this class does not read are padding here, named in comments.
     */
    static final class Layout extends Struct {
        static final int SIZE = 256;

        /* __u32 stx_mask, stx_blksize; __u64 stx_attributes */
        final Padding head = new Padding(NativeType.UCHAR, 16);
        final Unsigned32 nlink = new Unsigned32();
        /* __u32 stx_uid, stx_gid; __u16 stx_mode, __spare0[1] */
        final Padding owner = new Padding(NativeType.UCHAR, 12);
        final Unsigned64 ino = new Unsigned64();
        final Unsigned64 size = new Unsigned64();
        final Unsigned64 blocks = new Unsigned64();
        /* __u64 stx_attributes_mask; struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
           __u32 stx_rdev_major, stx_rdev_minor */
        final Padding times = new Padding(NativeType.UCHAR, 8 + 4 * 16 + 8);
        final Unsigned32 devMajor = new Unsigned32();
        final Unsigned32 devMinor = new Unsigned32();
        /* __u64 stx_mnt_id and the fields later kernels add, up to the fixed 256 bytes */
        final Padding tail = new Padding(NativeType.UCHAR, SIZE - 144);

        Layout(Runtime runtime) {
            super(runtime);
        }
    }

    /** What a scan needs to know about one file. */
    record Result(FileId file, long links, long allocatedBytes, long apparentBytes) {
    }

    private final LibC libc;
    private final Runtime runtime;
    private final Layout layout;
    private final Pointer buffer;

    private Statx(LibC libc) {
        this.libc = libc;
        this.runtime = Runtime.getRuntime(libc);
        this.layout = new Layout(runtime);
        this.buffer = Memory.allocateDirect(runtime, Layout.SIZE, true);
        layout.useMemory(buffer);
    }

    /** @throws UnsatisfiedLinkError when libc has no statx (glibc older than 2.28) */
    static Statx load() {
        return new Statx(LibraryLoader.create(LibC.class).failImmediately().load("c"));
    }

    /**
     * Stats {@code path}, following symbolic links (and /proc's magic links to open files).
     *
     * @throws NoSuchFileException when the file, or the process it is listed under, is gone
     * @throws AccessDeniedException when this process may not look (EACCES, EPERM)
     * @throws FileSystemException on any other error, naming the errno
     */
    Result stat(String path) throws FileSystemException {
        return stat(AT_FDCWD, path, 0, path);
    }

    /** Stats the file open at {@code fd} in this process. */
    Result stat(int fd) throws FileSystemException {
        return stat(fd, "", AT_EMPTY_PATH, "fd " + fd);
    }

    private Result stat(int dirfd, String path, int flags, String file) throws FileSystemException {
        if (libc.statx(dirfd, path, flags, STATX_NLINK | STATX_INO | STATX_SIZE | STATX_BLOCKS, buffer) != 0) {
            int errno = runtime.getLastError();
            switch (errno) {
                case Errnos.ENOENT, Errnos.ESRCH -> throw new NoSuchFileException(file);
                case Errnos.EACCES, Errnos.EPERM -> throw new AccessDeniedException(file, null, Errnos.describe(errno));
                default -> throw new FileSystemException(file, null, "statx: " + Errnos.describe(errno));
            }
        }
        return new Result(new FileId(layout.devMajor.get(), layout.devMinor.get(), layout.ino.get()),
                layout.nlink.get(), layout.blocks.get() * BLOCK_BYTES, layout.size.get());
    }
}
