package io.memfdexporter.bpf;

import java.util.logging.Logger;

import jnr.ffi.LibraryLoader;

/**
 * Keeps glibc from holding on to the memory libbpf frees after a load.
 * libbpf parses the kernel's BTF for every object it loads (about 11 MiB of
 * short-lived malloc each time). glibc serves large blocks with mmap and,
 * after the first such block is freed, raises its mmap threshold to that size,
 * so the next ones come from the heap, where fragmentation kept about 10 MiB
 * of them resident for good in one start out of three (BENCHMARKS.md,
 * "Footprint"). Setting the threshold explicitly turns that adjustment off:
 * large blocks stay mmapped and go back to the kernel when freed. The parse's
 * many small blocks still come from the arenas, and leave them with holes
 * glibc keeps (in one start: 25 MB in the arenas, 9.5 MB of it in use), so
 * once every object is loaded {@link #releaseFreed()} gives those pages back.
 */
final class GlibcMalloc {
    /** {@code mallopt(3)} and {@code malloc_trim(3)}; only glibc has them. */
    public interface Mallopt {
        int mallopt(int param, int value);

        int malloc_trim(long pad);
    }

    /* malloc.h */
    private static final int M_MMAP_THRESHOLD = -3;
    /* glibc's initial threshold. */
    private static final int MMAP_THRESHOLD_BYTES = 128 * 1024;
    private static final Logger LOG = Logger.getLogger(GlibcMalloc.class.getName());

    private GlibcMalloc() {
    }

    /** Fixes the mmap threshold where the C library is glibc; elsewhere nothing changes. */
    static void fixMmapThreshold() {
        try {
            if (glibc().mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1) {
                LOG.fine("mallopt(M_MMAP_THRESHOLD) failed: freed BTF memory may stay resident");
            }
        } catch (UnsatisfiedLinkError e) {
            LOG.fine(() -> "no mallopt in this C library (" + e.getMessage() + "): malloc is left as it is");
        }
    }

    /** Returns the free pages of every arena to the kernel where the C library is glibc (malloc_trim(0)). */
    static void releaseFreed() {
        try {
            glibc().malloc_trim(0);
        } catch (UnsatisfiedLinkError e) {
            LOG.fine(() -> "no malloc_trim in this C library (" + e.getMessage() + "): freed memory stays with malloc");
        }
    }

    private static Mallopt glibc() {
        return LibraryLoader.create(Mallopt.class).load("c");
    }
}
