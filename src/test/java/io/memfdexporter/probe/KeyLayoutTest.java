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
    void execKeyIsCommThenNameKindThenCommKnownThenVia() {
        ByteBuffer raw = ByteBuffer.allocate(ExecKey.SIZE).order(ByteOrder.nativeOrder());
        raw.put("runc".getBytes(StandardCharsets.US_ASCII)).position(16);
        raw.putInt(1).putInt(1).putInt(1).flip();
        assertEquals(28, ExecKey.SIZE, "struct exec_key has no padding");
        assertEquals(new ExecKey(new CommKey("runc".getBytes(StandardCharsets.US_ASCII)), MemfdNameKind.RUNC, true,
                ExecVia.INTERPRETER), ExecKey.read(raw));
    }

    @Test
    void execMappingKeyIsCommThenSyscallThenKind() {
        ByteBuffer raw = ByteBuffer.allocate(ExecMappingKey.SIZE).order(ByteOrder.nativeOrder());
        raw.put("dotnet".getBytes(StandardCharsets.US_ASCII)).position(16);
        raw.putInt(2).putInt(2).flip();
        assertEquals(24, ExecMappingKey.SIZE, "struct exec_mapping_key has no padding");
        assertEquals(new ExecMappingKey(new CommKey("dotnet".getBytes(StandardCharsets.US_ASCII)),
                ExecMappingSyscall.PKEY_MPROTECT, ExecMappingKind.DOUBLE_MAPPED), ExecMappingKey.read(raw));
    }

    @Test
    void execMappingTotalsAreSummedAcrossCpus() {
        ByteBuffer perCpu = ByteBuffer.allocate(2 * ExecMappingTotals.SIZE).order(ByteOrder.nativeOrder());
        perCpu.putLong(1).putLong(20).putLong(300).putLong(4000).putLong(50000)
                .putLong(4).putLong(50).putLong(600).putLong(7000).putLong(80000).flip();
        assertEquals(new ExecMappingTotals(5, 70, 900, 11000, 130000), ExecMappingTotals.sumPerCpu(perCpu, ExecMappingTotals.SIZE));
    }

    @Test
    void execTotalsAreSummedAcrossCpusWithTheirStride() {
        int stride = 32; // sizeof(struct exec_totals)
        ByteBuffer perCpu = ByteBuffer.allocate(2 * stride).order(ByteOrder.nativeOrder());
        perCpu.putLong(0, 3).putLong(8, 1).putLong(16, 10).putLong(24, 100)
                .putLong(stride, 4).putLong(stride + 8, 2).putLong(stride + 16, 20).putLong(stride + 24, 200);
        assertEquals(new ExecTotals(7, 3, 30, 300), ExecTotals.sumPerCpu(perCpu, stride));
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
        int stride = 80; // sizeof(struct totals), already a multiple of 8
        ByteBuffer perCpu = ByteBuffer.allocate(3 * stride).order(ByteOrder.nativeOrder());
        for (int cpu = 0; cpu < 3; cpu++) {
            for (int field = 0; field < 10; field++) {
                perCpu.putLong(cpu * stride + field * 8, (cpu + 1) * (long) Math.pow(10, field));
            }
        }
        assertEquals(new Totals(6, 60, 600, 6000, 60000, 600000, 6000000, 60000000, 600000000, 6000000000L),
                Totals.sumPerCpu(perCpu, stride));
    }

    @Test
    void secretTotalsAreSummedAcrossCpus() {
        ByteBuffer perCpu = ByteBuffer.allocate(2 * SecretTotals.SIZE).order(ByteOrder.nativeOrder());
        perCpu.putLong(1).putLong(20).putLong(3).putLong(40).flip();
        assertEquals(new SecretTotals(4, 60), SecretTotals.sumPerCpu(perCpu, SecretTotals.SIZE));
    }

    @Test
    void log2HistogramsAreSummedAcrossCpusSlotBySlot() {
        ByteBuffer perCpu = ByteBuffer.allocate(2 * Log2Histogram.SIZE).order(ByteOrder.nativeOrder());
        for (int cpu = 0; cpu < 2; cpu++) {
            for (int slot = 0; slot < Log2Histogram.SLOTS; slot++) {
                perCpu.putLong(slot * (cpu + 1L));
            }
            perCpu.putLong(1000L * (cpu + 1)); // sum
        }
        perCpu.flip();
        Log2Histogram sum = Log2Histogram.sumPerCpu(perCpu, Log2Histogram.SIZE);
        assertEquals(3 * 31, sum.slot(31));
        assertEquals(3 * 65, sum.slot(65));
        assertEquals(3000, sum.sum());
    }
}
