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
    void execKeyIsCommThenNameKindThenCommKnown() {
        ByteBuffer raw = ByteBuffer.allocate(ExecKey.SIZE).order(ByteOrder.nativeOrder());
        raw.put("runc".getBytes(StandardCharsets.US_ASCII)).position(16);
        raw.putInt(1).putInt(1).flip();
        assertEquals(24, ExecKey.SIZE, "struct exec_key has no padding");
        assertEquals(new ExecKey(new CommKey("runc".getBytes(StandardCharsets.US_ASCII)), MemfdNameKind.RUNC, true),
                ExecKey.read(raw));
    }

    @Test
    void execTotalsAreSummedAcrossCpusWithTheirStride() {
        int stride = 16; // sizeof(struct exec_totals)
        ByteBuffer perCpu = ByteBuffer.allocate(2 * stride).order(ByteOrder.nativeOrder());
        perCpu.putLong(0, 3).putLong(8, 1).putLong(stride, 4).putLong(stride + 8, 2);
        assertEquals(new ExecTotals(7, 3), ExecTotals.sumPerCpu(perCpu, stride));
    }

    @Test
    void totalsAreSummedAcrossCpusWithTheirStride() {
        int stride = 40; // sizeof(struct totals), already a multiple of 8
        ByteBuffer perCpu = ByteBuffer.allocate(3 * stride).order(ByteOrder.nativeOrder());
        for (int cpu = 0; cpu < 3; cpu++) {
            for (int field = 0; field < 5; field++) {
                perCpu.putLong(cpu * stride + field * 8, (cpu + 1) * (long) Math.pow(10, field));
            }
        }
        assertEquals(new Totals(6, 60, 600, 6000, 60000), Totals.sumPerCpu(perCpu, stride));
    }
}
