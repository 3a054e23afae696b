package io.memfdexporter.live;

import static io.memfdexporter.testing.TestLibC.MFD_CLOEXEC;
import static io.memfdexporter.testing.TestLibC.MFD_HUGETLB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.testing.TestLibC;

/** Learns the kernel's memfd file systems on this host and checks them against memfds the test makes. */
class MemfdFileSystemsTest {
    private final Statx statx = Statx.load();
    private final MemfdFileSystems learned = MemfdFileSystems.learn(statx);

    MemfdFileSystemsTest() throws IOException {
    }

    @Test
    void everyKindOfMemfdIsOnALearnedDeviceEachHugePageSizeOnItsOwn() throws IOException {
        List<Integer> sizeFlags = hugePageSizeFlags();
        Set<MemfdFileSystems.Device> seen = new HashSet<>();
        seen.add(deviceOfMemfd(MFD_CLOEXEC));
        for (int flags : sizeFlags) {
            seen.add(deviceOfMemfd(MFD_CLOEXEC | MFD_HUGETLB | flags));
        }
        seen.add(deviceOfMemfd(MFD_CLOEXEC | MFD_HUGETLB)); // the default size: one of the above

        assertEquals(seen, learned.devices());
        assertEquals(1 + sizeFlags.size(), learned.devices().size(), "tmpfs and one hugetlbfs per size " + sizeFlags);
    }

    @Test
    void filesOnOtherFileSystemsAreNotOnThem(@TempDir Path dir) throws IOException {
        for (Path file : List.of(Files.createFile(dir.resolve("regular")), Path.of("/dev/shm"), Path.of("/proc/self/exe"))) {
            assertFalse(learned.contains(statx.stat(file.toString()).file()), file.toString());
        }
    }

    private MemfdFileSystems.Device deviceOfMemfd(int flags) throws IOException {
        int fd = TestLibC.memfd("mfdfs", flags);
        try {
            FileId file = statx.stat(fd).file();
            assertTrue(learned.contains(file), "flags 0x" + Integer.toHexString(flags) + ": " + file);
            return new MemfdFileSystems.Device(file.devMajor(), file.devMinor());
        } finally {
            TestLibC.INSTANCE.close(fd);
        }
    }

    /** MFD_HUGE_* of every size in /sys/kernel/mm/hugepages (hugepages-2048kB: 21 << 26). */
    private static List<Integer> hugePageSizeFlags() throws IOException {
        try (Stream<Path> sizes = Files.list(Path.of("/sys/kernel/mm/hugepages"))) {
            return sizes.map(size -> size.getFileName().toString().replaceAll("hugepages-(\\d+)kB", "$1"))
                    .map(kib -> Long.numberOfTrailingZeros(Long.parseLong(kib) * 1024) << 26).toList();
        }
    }
}
