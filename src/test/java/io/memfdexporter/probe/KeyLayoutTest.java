package io.memfdexporter.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The Java records read exactly the bytes of bpf/memfd.h's structs. */
class KeyLayoutTest {
    @Test
    void failureKeyIsCommThenErrno() {
        ByteBuffer raw = ByteBuffer.allocate(FailureKey.SIZE).order(ByteOrder.nativeOrder());
        raw.put("sh".getBytes(StandardCharsets.US_ASCII)).position(16);
        raw.putInt(24).flip();
        assertEquals(20, FailureKey.SIZE, "struct failure_key has no padding");
        assertEquals(new FailureKey(new CommKey("sh".getBytes(StandardCharsets.US_ASCII)), 24), FailureKey.read(raw));
    }

    @Test
    void flagsIndexUnpacksTheFlagBitsAndTheHugePageSize() {
        assertEquals(0, FlagsIndex.flags(0));
        assertEquals(0x1F, FlagsIndex.flags(0x1F));
        assertEquals(0x54000004, FlagsIndex.flags(4 | (21 << 5)), "MFD_HUGETLB|MFD_HUGE_2MB");
        assertEquals(0xFC00001F, FlagsIndex.flags(FlagsIndex.INVALID - 1), "the last well-formed index");
        assertEquals(FlagsIndex.INVALID_FLAGS, FlagsIndex.flags(FlagsIndex.INVALID));
    }

    @Test
    void totalsAreSummedAcrossCpusWithTheirStride() {
        int stride = 56; // sizeof(struct totals), already a multiple of 8
        ByteBuffer perCpu = ByteBuffer.allocate(3 * stride).order(ByteOrder.nativeOrder());
        for (int cpu = 0; cpu < 3; cpu++) {
            for (int field = 0; field < 7; field++) {
                perCpu.putLong(cpu * stride + field * 8, (cpu + 1) * (long) Math.pow(10, field));
            }
        }
        assertEquals(new Totals(6, 60, 600, 6000, 60000, 600000, 6000000), Totals.sumPerCpu(perCpu, stride));
    }
}
