package io.memfdexporter.bpf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Where BPF objects keep their kernel state between exporter runs
 * ({@code --bpf.pin-path=DIR}): {@link BpfObject#loadAndAttach} pins each
 * object's maps, programs and links in a bpf filesystem, in
 * {@code DIR/<object name>/<fingerprint>/{maps,progs,links}/<name>}. The pins
 * keep the programs attached and counting after the exporter exits, and the
 * next run of the same build reopens them. {@link #NONE} turns pinning off.
 *
 * <p>A bpf filesystem is one instance per mount, and the pins live only as long
 * as it stays mounted. So when DIR is below {@code /sys/fs/bpf} and nothing is
 * mounted there, a bpffs is mounted there (source {@value #MOUNT_SOURCE}) and
 * left mounted; {@link #removeAll} unmounts it again once nothing is pinned in it.
 *
 * <p>One process at a time works in DIR: a running exporter holds {@link #lock},
 * and {@link #removeAll} takes it too.
 */
public final class BpfPins {
    public static final Path BPFFS = Path.of("/sys/fs/bpf");
    public static final BpfPins NONE = new BpfPins(null);
    /* The mount's source names who mounted it, so --bpf.unpin only unmounts its own. */
    static final String MOUNT_SOURCE = "memfd_exporter";
    /* Iterators the kernel puts at the root of every bpffs (CONFIG_BPF_PRELOAD): not anyone's pins. */
    private static final Set<String> PRELOADED = Set.of("maps.debug", "progs.debug");
    private static final long MS_NOSUID = 2;
    private static final long MS_NODEV = 4;
    private static final long MS_NOEXEC = 8;
    private static final String MOUNT_OPTIONS = "mode=700";
    private static final Logger LOG = Logger.getLogger(BpfPins.class.getName());

    private final Path root;

    private BpfPins(Path root) {
        this.root = root;
    }

    /** Pins under {@code dir}, an absolute path; nothing is touched before an object is loaded. */
    public static BpfPins at(Path dir) {
        if (!dir.isAbsolute()) {
            throw new IllegalArgumentException("must be an absolute path, got '" + dir + "'");
        }
        return new BpfPins(dir.normalize());
    }

    public boolean enabled() {
        return root != null;
    }

    /** DIR; only when {@link #enabled()}. */
    public Path root() {
        if (root == null) {
            throw new IllegalStateException("pinning is off");
        }
        return root;
    }

    /**
     * Prepares DIR as {@link #prepare} does and locks it for this process,
     * until the lock is closed; attach the objects that pin in DIR only while
     * holding it.
     *
     * @throws BpfUnavailableException when DIR cannot be had, or another exporter holds it
     */
    public PinLock lock(Native nat) {
        prepare(nat);
        return PinLock.acquire(nat, root, () -> prepare(nat));
    }

    /**
     * Makes DIR a directory of its own on a bpf filesystem, mounting one at
     * {@code /sys/fs/bpf} first if DIR is below it and nothing is mounted there.
     *
     * @throws BpfUnavailableException when DIR cannot be on a bpffs
     */
    void prepare(Native nat) {
        if (!isOnBpffs(nearestExisting(root))) {
            if (!root.startsWith(BPFFS) || root.equals(BPFFS)) {
                throw new BpfUnavailableException("--bpf.pin-path " + root + " is not on a bpf filesystem: use a"
                        + " directory below " + BPFFS + " (mounted if needed), e.g. " + BPFFS.resolve("memfd_exporter"));
            }
            // Two exporters starting at once would each mount one, the second hiding the first and its pins.
            PinLock.whileHolding(nat, BPFFS.getParent(), () -> {
                if (!isOnBpffs(nearestExisting(root))) {
                    mountBpffs(nat);
                }
            });
        }
        requireOwnDirectory();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new BpfUnavailableException("--bpf.pin-path: cannot create " + root + ": " + e);
        }
    }

    private void mountBpffs(Native nat) {
        Pointer options = Memory.allocateDirect(nat.runtime(), MOUNT_OPTIONS.length() + 1, true);
        options.putString(0, MOUNT_OPTIONS, MOUNT_OPTIONS.length() + 1, StandardCharsets.US_ASCII);
        int rc = nat.libc().mount(MOUNT_SOURCE, BPFFS.toString(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, options);
        // The kernel reads the options by address; no Java use of them follows.
        Reference.reachabilityFence(options);
        if (rc != 0) {
            int errno = nat.lastLibcErrno();
            throw new BpfUnavailableException("--bpf.pin-path " + root + ": no bpf filesystem is mounted at " + BPFFS
                    + " and mounting one failed with " + Errnos.describe(errno) + ": run 'mount -t bpf bpf " + BPFFS
                    + "' as root (containers: bind-mount the host's " + BPFFS + ")");
        }
        LOG.info(() -> "mounted a bpf filesystem at " + BPFFS + " for --bpf.pin-path; it stays mounted to hold the pins"
                + " (--bpf.unpin unmounts it)");
    }

    /* DIR must not be a bpffs mount point: --bpf.unpin removes all of DIR, which would be every tool's pins. */
    private void requireOwnDirectory() {
        if (Files.isDirectory(root) && !device(root).equals(device(root.getParent()))) {
            throw new BpfUnavailableException("--bpf.pin-path " + root + " is the root of a filesystem: use a directory"
                    + " of its own below it, e.g. " + root.resolve("memfd_exporter"));
        }
    }

    /**
     * Removes everything pinned under DIR, and DIR itself; each program is
     * detached once no running exporter holds it open (stop the exporter first).
     * Unmounts {@code /sys/fs/bpf} if it was mounted by {@link #prepare} and
     * nothing else is pinned in it.
     *
     * @throws BpfUnavailableException when DIR is not a pin directory, or a running exporter holds it
     */
    public void removeAll(Native nat) {
        if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            if (!isOnBpffs(root)) {
                throw new BpfUnavailableException("--bpf.pin-path " + root + " is not on a bpf filesystem: nothing removed");
            }
            requireOwnDirectory();
            int pins;
            try (PinLock lock = PinLock.acquire(nat, root, () -> { })) {
                pins = delete(root);
            }
            LOG.info(() -> "removed " + root + " and the " + pins + " pinned maps, programs and links in it;"
                    + " its programs are detached once no exporter holds them");
        } else {
            LOG.info(() -> "nothing is pinned at " + root);
        }
        if (root.startsWith(BPFFS) && isOurMountWithNothingPinned()) {
            if (nat.libc().umount2(BPFFS.toString(), 0) != 0) {
                throw new BpfUnavailableException("cannot unmount the bpf filesystem at " + BPFFS + ": "
                        + Errnos.describe(nat.lastLibcErrno()));
            }
            LOG.info(() -> "unmounted the bpf filesystem at " + BPFFS + " that --bpf.pin-path had mounted");
        }
    }

    private static boolean isOurMountWithNothingPinned() {
        if (!Files.isDirectory(BPFFS) || !MOUNT_SOURCE.equals(Mount.of(BPFFS).source())) {
            return false;
        }
        try (Stream<Path> entries = Files.list(BPFFS)) {
            return entries.allMatch(entry -> PRELOADED.contains(entry.getFileName().toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The names in a directory, sorted; none when it does not exist. */
    static List<String> entriesOf(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(entry -> entry.getFileName().toString()).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a tree in a bpffs, which unpins what it holds; returns the number of pins removed. */
    static int delete(Path tree) {
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(tree)) {
            paths = walk.sorted(Comparator.reverseOrder()).collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + tree + " (" + e + ")", e);
        }
        int pins = 0;
        for (Path path : paths) {
            if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                pins++;
            }
            try {
                Files.delete(path);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + path + " (" + e + ")", e);
            }
        }
        return pins;
    }

    private static Path nearestExisting(Path path) {
        Path existing = path;
        while (!Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing;
    }

    private static boolean isOnBpffs(Path existing) {
        return "bpf".equals(Mount.of(existing).type());
    }

    /** The filesystem type and source of a mount, from /proc/self/mountinfo. */
    private record Mount(String type, String source) {
        /** The mount holding an existing path, found by device number. */
        static Mount of(Path existing) {
            long dev = device(existing);
            // st_dev as glibc encodes it: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
            String id = (((dev >>> 8) & 0xfff) | ((dev >>> 32) & 0xfffff000L)) + ":"
                    + ((dev & 0xff) | ((dev >>> 12) & 0xffffff00L));
            Mount found = new Mount("", "");
            try {
                // id parent major:minor root mount-point options [optional fields...] - type source super-options
                for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                    String[] fields = line.split(" ");
                    if (fields[2].equals(id)) {
                        int separator = List.of(fields).indexOf("-");
                        found = new Mount(fields[separator + 1], fields[separator + 2]);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading /proc/self/mountinfo", e);
            }
            return found;
        }
    }

    private static Long device(Path existing) {
        try {
            return (Long) Files.getAttribute(existing, "unix:dev");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
