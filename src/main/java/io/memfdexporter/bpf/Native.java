package io.memfdexporter.bpf;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Loads the native libraries once per process and checks the libbpf version.
 * libbpf's print callback is process-global, so the libraries are too.
 */
public final class Native {
    public static final int MIN_LIBBPF_MAJOR = 1;

    private static Native instance;

    private final LibBpf libbpf;
    private final LibC libc;
    private final String libbpfVersion;

    private Native(LibBpf libbpf, LibC libc, String libbpfVersion) {
        this.libbpf = libbpf;
        this.libc = libc;
        this.libbpfVersion = libbpfVersion;
    }

    /** @throws BpfUnavailableException when libbpf is missing or older than 1.0 */
    public static synchronized Native get() {
        if (instance == null) {
            LibBpf libbpf;
            try {
                libbpf = LibraryLoader.create(LibBpf.class).failImmediately().load("bpf");
            } catch (UnsatisfiedLinkError e) {
                throw new BpfUnavailableException("libbpf.so.1 could not be loaded (" + firstLine(e.getMessage())
                        + "): install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1)");
            }
            int major;
            int minor;
            try {
                major = libbpf.libbpf_major_version();
                minor = libbpf.libbpf_minor_version();
            } catch (UnsatisfiedLinkError e) {
                throw new BpfUnavailableException("the system libbpf is older than 0.7; libbpf >= "
                        + MIN_LIBBPF_MAJOR + ".0 is required (Debian/Ubuntu: apt-get install libbpf1)");
            }
            if (major < MIN_LIBBPF_MAJOR) {
                throw new BpfUnavailableException("the system libbpf is " + major + "." + minor + "; libbpf >= "
                        + MIN_LIBBPF_MAJOR + ".0 is required (Debian/Ubuntu: apt-get install libbpf1)");
            }
            LibC libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
            GlibcMalloc.fixMmapThreshold(); // before libbpf's first BTF parse
            instance = new Native(libbpf, libc, major + "." + minor);
        }
        return instance;
    }

    public LibBpf libbpf() {
        return libbpf;
    }

    public LibC libc() {
        return libc;
    }

    /**
     * Gives the kernel back the memory libbpf's loads freed but glibc kept
     * (GlibcMalloc): call once every BPF object is loaded.
     */
    public void releaseFreedMemory() {
        GlibcMalloc.releaseFreed();
    }

    /** "major.minor" of the loaded libbpf. */
    public String libbpfVersion() {
        return libbpfVersion;
    }

    /** errno of the last {@code @SaveError} call on this thread. */
    int lastErrno() {
        return Runtime.getRuntime(libbpf).getLastError();
    }

    int lastLibcErrno() {
        return Runtime.getRuntime(libc).getLastError();
    }

    jnr.ffi.Runtime runtime() {
        return Runtime.getRuntime(libbpf);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "not found";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
