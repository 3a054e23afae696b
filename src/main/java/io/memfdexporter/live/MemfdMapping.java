package io.memfdexporter.live;

import java.util.Optional;

/**
 * A line of /proc/PID/maps that maps a memfd, e.g.
 * {@code 7f1c2a000000-7f1c2e000000 rw-s 00000000 00:01 1035    /memfd:pool (deleted)}.
 *
 * @param range the mapping's entry name in /proc/PID/map_files ({@code %lx-%lx}: maps pads
 *              addresses to 8 digits, map_files does not)
 * @param file  the device and inode the line names, so a memfd already counted needs no statx
 */
record MemfdMapping(String range, FileId file) {
    /**
     * Where a memfd's path starts, in an fd link and in maps alike: the
     * kernel names its dentry "memfd:NAME" at the root of an internal tmpfs
     * (or hugetlbfs, with MFD_HUGETLB) mount, and appends " (deleted)". Any
     * file can have such a path: it preselects, {@link MemfdFileSystems} decides.
     */
    static final String PATH_PREFIX = "/memfd:";

    /** Empty for every line that does not map a memfd. */
    static Optional<MemfdMapping> parse(String line) {
        // Most lines map no memfd: reject them before parsing any field.
        if (!line.contains(PATH_PREFIX)) {
            return Optional.empty();
        }
        // Fields: start-end perms offset major:minor inode, then padding and the path.
        int dash = line.indexOf('-');
        int afterRange = line.indexOf(' ', dash);
        int afterPerms = line.indexOf(' ', afterRange + 1);
        int afterOffset = line.indexOf(' ', afterPerms + 1);
        int colon = line.indexOf(':', afterOffset);
        int afterDevice = line.indexOf(' ', colon);
        int afterInode = line.indexOf(' ', afterDevice + 1);
        int path = afterInode;
        while (path < line.length() && line.charAt(path) == ' ') {
            path++;
        }
        // A path elsewhere on the line, like "/srv/x /memfd:y", is some other file.
        if (!line.startsWith(PATH_PREFIX, path)) {
            return Optional.empty();
        }
        long start = Long.parseUnsignedLong(line, 0, dash, 16);
        long end = Long.parseUnsignedLong(line, dash + 1, afterRange, 16);
        FileId file = new FileId(
                Long.parseLong(line, afterOffset + 1, colon, 16),
                Long.parseLong(line, colon + 1, afterDevice, 16),
                Long.parseUnsignedLong(line, afterDevice + 1, afterInode, 10));
        return Optional.of(new MemfdMapping(Long.toHexString(start) + "-" + Long.toHexString(end), file));
    }
}
