package io.memfdexporter.live;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import io.memfdexporter.probe.CommKey;
import jnr.ffi.Pointer;

/**
 * bpf/memfd.h {@code struct live_record}: what bpf/live.bpf.c's iterators
 * write per memfd found, and once at the end of an iteration.
 *
 * @param file      the memfd: the kernel dev_t split into major and minor, and the inode number
 * @param cgroupId  the holding process's cgroup v2 id
 * @param vmaBytes  {@link Kind#VMA}: the mapping's size
 * @param visited   {@link Kind#END}: fds or VMAs the iteration visited
 * @param processes {@link Kind#END}: processes the iteration visited
 */
record LiveRecord(Kind kind, FileId file, long allocatedBytes, long apparentBytes, long cgroupId, long vmaBytes,
                  long visited, int tgid, int tid, int vmaFlags, int processes, CommKey comm) {
    /** sizeof(struct live_record): six u64, six u32, the comm. */
    static final int SIZE = 6 * 8 + 6 * 4 + CommKey.SIZE;
    /** LIVE_VMA_EXEC: the mapping is executable (VM_EXEC). */
    static final int VMA_EXEC = 0x1;
    /** LIVE_VMA_EXE_FILE: the memfd is the process's own executable. */
    static final int VMA_EXE_FILE = 0x2;
    /* include/linux/kdev_t.h: MINORBITS */
    private static final int MINOR_BITS = 20;

    /** LIVE_FD, LIVE_VMA, LIVE_END. */
    enum Kind {
        FD, VMA, END;

        static Kind of(int value) {
            return switch (value) {
                case 1 -> FD;
                case 2 -> VMA;
                case 3 -> END;
                default -> throw new IllegalArgumentException("unknown live_record kind " + value);
            };
        }
    }

    static LiveRecord read(Pointer buffer, long offset) {
        long dev = Integer.toUnsignedLong(buffer.getInt(offset + 48));
        byte[] comm = new byte[CommKey.SIZE];
        buffer.get(offset + 72, comm, 0, comm.length);
        int length = 0;
        while (length < comm.length && comm[length] != 0) {
            length++;
        }
        return new LiveRecord(Kind.of(buffer.getInt(offset + 60)),
                new FileId(dev >>> MINOR_BITS, dev & ((1L << MINOR_BITS) - 1), buffer.getLong(offset)),
                buffer.getLong(offset + 8), buffer.getLong(offset + 16), buffer.getLong(offset + 24),
                buffer.getLong(offset + 32), buffer.getLong(offset + 40),
                buffer.getInt(offset + 52), buffer.getInt(offset + 56), buffer.getInt(offset + 64),
                buffer.getInt(offset + 68), new CommKey(Arrays.copyOf(comm, length)));
    }

    boolean executable() {
        return (vmaFlags & VMA_EXEC) != 0;
    }

    boolean exeFile() {
        return (vmaFlags & VMA_EXE_FILE) != 0;
    }

    @Override
    public String toString() {
        return kind + " " + file + " tgid " + tgid + " tid " + tid + " comm "
                + new String(comm.bytes(), StandardCharsets.ISO_8859_1);
    }
}
