package io.memfdexporter.live;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.memfdexporter.bpf.Errnos;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/**
 * The devices of the kernel's internal file systems that memfds live on,
 * learned once by creating a memfd of each kind and statting it:
 * memfd_create(2) puts every memfd on one internal tmpfs mount, and an
 * MFD_HUGETLB one on the internal hugetlbfs mount of its huge page size (one
 * per size). No process can mount those or create a file on them by path, so
 * a file elsewhere is no memfd, whatever its path says ({@code /memfd:x} can
 * be any file's name).
 *
 * <p>A huge page size whose memfd cannot be created here is left out and
 * logged: the kernel refuses such memfds to every process alike (no
 * hugetlbfs, or no internal mount for that size), unless this process is
 * short of fds or memory at startup, which the log says.
 */
final class MemfdFileSystems {
    private static final Logger LOG = Logger.getLogger(MemfdFileSystems.class.getName());
    /** include/uapi/linux/memfd.h */
    private static final int MFD_CLOEXEC = 0x1;
    private static final int MFD_HUGETLB = 0x4;
    private static final int MFD_HUGE_SHIFT = 26;
    /** One directory per huge page size the kernel supports, e.g. hugepages-2048kB. */
    private static final Path HUGEPAGES = Path.of("/sys/kernel/mm/hugepages");
    private static final Pattern HUGEPAGES_DIR = Pattern.compile("hugepages-(\\d+)kB");

    /** The libc binding; public because jnr-ffi implements it from another class loader. */
    public interface LibC {
        @SaveError
        int memfd_create(String name, int flags);

        int close(int fd);
    }

    /** A device as statx reports it. */
    record Device(long major, long minor) {
    }

    private final Set<Device> devices;

    private MemfdFileSystems(Set<Device> devices) {
        this.devices = Set.copyOf(devices);
    }

    /**
     * @throws IOException when not even a plain memfd can be created (a seccomp filter, no fd left): without
     *                     its device no memfd could be told from other files
     */
    static MemfdFileSystems learn(Statx statx) throws IOException {
        LibC libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        Runtime runtime = Runtime.getRuntime(libc);
        Set<Device> devices = new LinkedHashSet<>();
        devices.add(deviceOf(libc, runtime, statx, MFD_CLOEXEC, "memfds")
                .orElseThrow(() -> new IOException("cannot learn where memfds live: memfd_create failed with "
                        + Errnos.describe(runtime.getLastError()))));
        for (int flags : hugetlbFlags()) {
            deviceOf(libc, runtime, statx, flags, "hugetlb memfds").ifPresent(devices::add);
        }
        return new MemfdFileSystems(devices);
    }

    /** MFD_HUGETLB with each huge page size the kernel lists, and with none (its default size). */
    private static List<Integer> hugetlbFlags() throws IOException {
        List<Integer> flags = new ArrayList<>(List.of(MFD_CLOEXEC | MFD_HUGETLB));
        try (DirectoryStream<Path> sizes = Files.newDirectoryStream(HUGEPAGES)) {
            for (Path size : sizes) {
                Matcher kib = HUGEPAGES_DIR.matcher(size.getFileName().toString());
                if (kib.matches()) {
                    int log2 = Long.numberOfTrailingZeros(Long.parseLong(kib.group(1)) * 1024);
                    flags.add(MFD_CLOEXEC | MFD_HUGETLB | (log2 << MFD_HUGE_SHIFT));
                }
            }
        } catch (NoSuchFileException e) {
            // No hugetlb support (or no /sys): the default size, tried above, says so.
        }
        return flags;
    }

    private static Optional<Device> deviceOf(LibC libc, Runtime runtime, Statx statx, int flags, String what)
            throws IOException {
        int fd = libc.memfd_create("memfd-exporter-probe", flags);
        if (fd < 0) {
            int errno = runtime.getLastError();
            if (flags != MFD_CLOEXEC) {
                LOG.info(() -> String.format("%s with flags 0x%x cannot be created here (%s), so the live scan counts"
                        + " none; the kernel refuses them to every process, unless this one lacked fds or memory", what,
                        flags, Errnos.describe(errno)));
            }
            return Optional.empty();
        }
        try {
            Statx.Result file = statx.stat(fd);
            return Optional.of(new Device(file.file().devMajor(), file.file().devMinor()));
        } finally {
            libc.close(fd);
        }
    }

    /** Whether {@code file} is on one of the kernel's memfd file systems. */
    boolean contains(FileId file) {
        return devices.contains(new Device(file.devMajor(), file.devMinor()));
    }

    Set<Device> devices() {
        return devices;
    }
}
