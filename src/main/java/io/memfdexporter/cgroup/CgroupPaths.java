package io.memfdexporter.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Names cgroup v2 ids as paths ("/kubepods.slice/…/cri-containerd-1f….scope"):
 * the id bpf_get_current_cgroup_id() returns is the inode number of the
 * cgroup's directory in a cgroup2 mount, wherever that is mounted.
 *
 * <p>The tree is walked again only when an id is not known. Cgroups come and
 * go during a walk: a directory removed meanwhile is skipped and the walk goes
 * on. An id the walk did not find is retried by the next {@value #MAX_MISSES}
 * walks that ask for it and then labelled {@value #UNKNOWN} without a walk, so
 * an id that will never be found (a cgroup outside this process's view) cannot
 * make every scrape walk the tree; such misses are forgotten when there are
 * more than {@value #MAX_REMEMBERED_MISSES}. The known paths are those of the
 * last walk: removed cgroups are not remembered either.
 */
public final class CgroupPaths {
    /** Label of a cgroup that could not be named: removed before a walk found it, outside this view, or no cgroup2 mount. */
    public static final String UNKNOWN = "(unknown)";
    static final int MAX_MISSES = 3;
    static final int MAX_REMEMBERED_MISSES = 16384;
    private static final Logger LOG = Logger.getLogger(CgroupPaths.class.getName());

    private final Optional<Mount> mount;
    private Map<Long, String> known = Map.of();
    private final Map<Long, Integer> misses = new HashMap<>();
    private long walks;

    /** A cgroup2 mount: where it is mounted, and which cgroup of the hierarchy is its root ("/" unless a subtree). */
    record Mount(Path point, String root) {
        /** The path of a directory of this mount, relative to the hierarchy's root. */
        String pathOf(Path dir) {
            String relative = point.relativize(dir).toString();
            if (root.equals("/")) {
                return "/" + relative;
            }
            return relative.isEmpty() ? root : root + "/" + relative;
        }
    }

    CgroupPaths(Optional<Mount> mount) {
        this.mount = mount;
    }

    /** The cgroup2 mount at this path, mounted at the root of the hierarchy (as this process's cgroup namespace sees it). */
    public static CgroupPaths at(Path mountPoint) {
        return new CgroupPaths(Optional.of(new Mount(mountPoint, "/")));
    }

    /**
     * The cgroup2 mount this process sees in /proc/self/mountinfo: /sys/fs/cgroup, /sys/fs/cgroup/unified on hybrid
     * hosts, or anywhere else. Says once, in the log, when there is none.
     */
    public static CgroupPaths ofThisHost() {
        try {
            Optional<Mount> mount = cgroup2Mount(Files.readAllLines(Path.of("/proc/self/mountinfo")));
            if (mount.isEmpty()) {
                LOG.warning("no cgroup2 mount in /proc/self/mountinfo: every per-cgroup series is labelled cgroup=\""
                        + UNKNOWN + "\" (mount one: mount -t cgroup2 none /sys/fs/cgroup; in a container, mount the"
                        + " host's /sys/fs/cgroup)");
            } else {
                LOG.fine(() -> "naming cgroups from the cgroup2 mount at " + mount.get().point() + " (root "
                        + mount.get().root() + ")");
            }
            return new CgroupPaths(mount);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The cgroup2 mount of a mountinfo that sees the most of the hierarchy (the first of those) and whose mount
     * point exists. Lines read "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE
     * SUPER_OPTIONS", with spaces, tabs, newlines and backslashes in ROOT and MOUNTPOINT written as octal escapes.
     * ROOT is the mount's top cgroup relative to this process's cgroup namespace: "/" for the namespace's root,
     * "/../.." for a cgroup above it, which is how the host's tree looks from a pod (a private cgroup namespace,
     * its own cgroup2 at /sys/fs/cgroup) given the host's /sys/fs/cgroup as a volume: that mount wins, and names
     * every pod's cgroups by their host paths.
     */
    static Optional<Mount> cgroup2Mount(List<String> mountinfo) {
        Optional<Mount> best = Optional.empty();
        int bestHeight = -1;
        for (String line : mountinfo) {
            int separator = line.indexOf(" - ");
            if (separator < 0 || !line.startsWith("cgroup2 ", separator + 3)) {
                continue;
            }
            String[] fields = line.substring(0, separator).split(" ");
            if (fields.length < 5) {
                continue;
            }
            Path point = Path.of(unescape(fields[4]));
            String root = unescape(fields[3]);
            int height = 0;
            while (root.startsWith("/..") && (root.length() == 3 || root.charAt(3) == '/')) {
                root = root.substring(3);
                height++;
            }
            if (height > bestHeight && Files.isDirectory(point)) {
                best = Optional.of(new Mount(point, root.isEmpty() ? "/" : root));
                bestHeight = height;
            }
        }
        return best;
    }

    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Paths of these ids; walks the cgroup tree at most once per call. */
    public synchronized Map<Long, String> pathsOf(Set<Long> ids) {
        boolean walk = mount.isPresent() && ids.stream()
                .anyMatch(id -> !known.containsKey(id) && misses.getOrDefault(id, 0) < MAX_MISSES);
        if (walk) {
            known = walk(mount.get());
            walks++;
            if (misses.size() > MAX_REMEMBERED_MISSES) {
                misses.clear();
            }
            for (long id : ids) {
                if (known.containsKey(id)) {
                    misses.remove(id);
                } else {
                    misses.merge(id, 1, Integer::sum);
                }
            }
        }
        Map<Long, String> paths = new HashMap<>();
        for (long id : ids) {
            paths.put(id, known.getOrDefault(id, UNKNOWN));
        }
        return paths;
    }

    /** Walks of the tree so far. */
    synchronized long walks() {
        return walks;
    }

    /* Every directory's inode number and path; what cannot be read (removed meanwhile, denied) is skipped. */
    private static Map<Long, String> walk(Mount mount) {
        Map<Long, String> paths = new HashMap<>();
        Deque<Path> pending = new ArrayDeque<>();
        pending.push(mount.point());
        while (!pending.isEmpty()) {
            Path dir = pending.pop();
            try {
                long inode = ((Number) Files.getAttribute(dir, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
                paths.put(inode, mount.pathOf(dir));
                try (DirectoryStream<Path> children = Files.newDirectoryStream(dir, Files::isDirectory)) {
                    children.forEach(pending::push);
                }
            } catch (IOException | UncheckedIOException | DirectoryIteratorException e) {
                // Removed since it was listed, or not readable: its subtree stays unknown; the walk goes on.
            }
        }
        return paths;
    }
}
