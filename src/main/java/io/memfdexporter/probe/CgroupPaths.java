package io.memfdexporter.probe;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Names cgroup v2 ids as paths ("/system.slice/docker-1f….scope"): the id
 * bpf_get_current_cgroup_id() returns is the inode number of the cgroup's
 * directory in the cgroup2 mount. Ids are never reused, so both found and
 * vanished ids are cached, and the tree is walked again only when an id is new.
 */
public final class CgroupPaths {
    /** Label of a cgroup removed before it could be named, or when no cgroup2 mount is visible. */
    public static final String UNKNOWN = "(unknown)";

    private final Optional<Path> root;
    private final Map<Long, String> known = new HashMap<>();
    private final Set<Long> vanished = new HashSet<>();

    CgroupPaths(Optional<Path> root) {
        this.root = root;
    }

    /** The cgroup2 mount this process sees (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
    public static CgroupPaths ofThisHost() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER_OPTIONS
            return new CgroupPaths(lines.filter(line -> line.contains(" - cgroup2 "))
                    .map(line -> Path.of(line.split(" ")[4].replace("\\040", " ")))
                    .findFirst());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Paths of these ids; walks the cgroup tree at most once per call. */
    public synchronized Map<Long, String> pathsOf(Set<Long> ids) {
        if (ids.stream().anyMatch(id -> !known.containsKey(id) && !vanished.contains(id))) {
            rescan();
            ids.stream().filter(id -> !known.containsKey(id)).forEach(vanished::add);
        }
        Map<Long, String> paths = new HashMap<>();
        for (long id : ids) {
            paths.put(id, known.getOrDefault(id, UNKNOWN));
        }
        return paths;
    }

    private void rescan() {
        if (root.isEmpty()) {
            return;
        }
        Path mount = root.get();
        try (Stream<Path> dirs = Files.walk(mount)) {
            dirs.filter(Files::isDirectory).forEach(dir -> {
                try {
                    long inode = ((Number) Files.getAttribute(dir, "unix:ino")).longValue();
                    known.put(inode, "/" + mount.relativize(dir));
                } catch (IOException e) {
                    // Removed during the walk: it will be unknown.
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // A cgroup removed mid-walk ends the walk early; ids not found stay unknown.
        }
    }
}
