package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;

import org.junit.jupiter.api.Test;

/** Lines as /proc/PID/maps prints them (show_map_vma: "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then the path). */
class MemfdMappingTest {
    @Test
    void memfdLineGivesTheMapFilesNameAndTheDeviceAndInode() {
        assertEquals(Optional.of(new MemfdMapping("7f1c2a000000-7f1c2e000000", new FileId(0, 1, 1035))),
                MemfdMapping.parse("7f1c2a000000-7f1c2e000000 rw-s 00000000 00:01 1035"
                        + "                       /memfd:pool (deleted)"));
    }

    @Test
    void addressesPaddedToEightDigitsInMapsAreUnpaddedInMapFiles() {
        assertEquals(Optional.of(new MemfdMapping("10000-21000", new FileId(0x103, 0xab, 7))),
                MemfdMapping.parse("00010000-00021000 r--p 00001000 103:ab 7    /memfd:low (deleted)"));
    }

    @Test
    void hugetlbMemfdIsAMemfd() {
        assertEquals(Optional.of(new MemfdMapping("7f0000000000-7f0000200000", new FileId(0, 16, 2048))),
                MemfdMapping.parse("7f0000000000-7f0000200000 rw-s 00000000 00:10 2048   /memfd:huge (deleted)"));
    }

    @Test
    void otherFilesAnonymousMemoryAndAnonNamesAreNot() {
        assertEquals(Optional.empty(), MemfdMapping.parse("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0 "));
        assertEquals(Optional.empty(), MemfdMapping.parse(
                "7f1c2a000000-7f1c2e000000 rw-s 00000000 00:1a 88   /dev/shm/pool (deleted)"));
        assertEquals(Optional.empty(), MemfdMapping.parse(
                "7f1c2a000000-7f1c2e000000 r--p 00000000 fd:01 4242   /srv/odd /memfd:name"));
        assertEquals(Optional.empty(), MemfdMapping.parse(
                "7f1c2a000000-7f1c2e000000 rw-p 00000000 00:00 0   [anon:/memfd:x]"));
    }
}
