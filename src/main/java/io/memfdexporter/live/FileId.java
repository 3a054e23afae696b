package io.memfdexporter.live;

/**
 * Identifies a file host-wide: the device of its file system (as
 * {@code stx_dev_major:stx_dev_minor}, the same numbers /proc/PID/maps prints
 * in hex) and its inode number on that device.
 */
record FileId(long devMajor, long devMinor, long inode) {
}
