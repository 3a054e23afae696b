package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.memfdexporter.probe.CommKey;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/** LiveRecord reads exactly the bytes of bpf/memfd.h's struct live_record (offsets as BTF lists them). */
class LiveRecordTest {
    @Test
    void readsEveryFieldAtItsOffsetAndSplitsTheKernelDevT() {
        assertEquals(88, LiveRecord.SIZE, "struct live_record: six u64, six u32, comm[16], no padding");
        Pointer raw = Memory.allocateDirect(Runtime.getSystemRuntime(), 2 * LiveRecord.SIZE, true);
        long at = LiveRecord.SIZE; // the second record of a read
        raw.putLong(at, 1035);                       // ino
        raw.putLong(at + 8, 64L << 20);              // allocated_bytes
        raw.putLong(at + 16, 65L << 20);             // apparent_bytes
        raw.putLong(at + 24, 4242);                  // cgroup_id
        raw.putLong(at + 32, 2L << 20);              // vma_bytes
        raw.putLong(at + 40, 7);                     // visited
        raw.putInt(at + 48, (0 << 20) | 1);          // dev 0:1, the internal shmem mount
        raw.putInt(at + 52, 300);                    // tgid
        raw.putInt(at + 56, 301);                    // tid
        raw.putInt(at + 60, 2);                      // kind LIVE_VMA
        raw.putInt(at + 64, LiveRecord.VMA_EXEC | LiveRecord.VMA_EXE_FILE);
        raw.putInt(at + 68, 9);                      // processes
        raw.put(at + 72, "runc".getBytes(StandardCharsets.US_ASCII), 0, 4);

        LiveRecord record = LiveRecord.read(raw, at);

        assertEquals(new LiveRecord(LiveRecord.Kind.VMA, new FileId(0, 1, 1035), 64L << 20, 65L << 20, 4242, 2L << 20, 7,
                300, 301, LiveRecord.VMA_EXEC | LiveRecord.VMA_EXE_FILE, 9,
                new CommKey("runc".getBytes(StandardCharsets.US_ASCII))), record);
        assertEquals(new FileId(259, 0x12345, 1), LiveRecord.read(withDev(raw, at, (259 << 20) | 0x12345), at).file());
    }

    private static Pointer withDev(Pointer raw, long at, int dev) {
        raw.putLong(at, 1);
        raw.putInt(at + 48, dev);
        return raw;
    }
}
