package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FlagNamesTest {
    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "0x0        ; none",
        "0x1        ; MFD_CLOEXEC",
        "0x3        ; MFD_CLOEXEC|MFD_ALLOW_SEALING",
        "0x1f       ; MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_HUGETLB|MFD_NOEXEC_SEAL|MFD_EXEC",
        "0x54000004 ; MFD_HUGETLB|MFD_HUGE_2MB",
        "0x78000005 ; MFD_CLOEXEC|MFD_HUGETLB|MFD_HUGE_1GB",
        "0x40000004 ; MFD_HUGETLB|MFD_HUGE_64KB",
        "0x88000004 ; MFD_HUGETLB|MFD_HUGE_16GB",
        "0x7c000004 ; MFD_HUGETLB|MFD_HUGE_2GB",
        "0x04000004 ; MFD_HUGETLB|MFD_HUGE_2B",
        "0xffffffff ; invalid",
        "0x20       ; invalid",
        "0x02000001 ; invalid",
    })
    void namesFlagsLikeTheKernelHeaders(String hex, String label) {
        assertEquals(label, FlagNames.label(Integer.parseUnsignedInt(hex.substring(2), 16)));
    }

    @Test
    void everyWellFormedKeyHasADistinctLabel() {
        Set<String> labels = new HashSet<>();
        for (int bits = 0; bits < 32; bits++) {
            for (int shift = 0; shift < 64; shift++) {
                labels.add(FlagNames.label(bits | (shift << 26)));
            }
        }
        assertEquals(2048, labels.size(), "2^11 well-formed keys, 2^11 labels: the label is bounded and lossless");
    }
}
