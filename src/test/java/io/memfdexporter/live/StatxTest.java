package io.memfdexporter.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jnr.ffi.Runtime;
import jnr.ffi.Struct;

class StatxTest {
    @Test
    void layoutMatchesStructStatxInLinuxStatH() {
        Statx.Layout layout = new Statx.Layout(Runtime.getSystemRuntime());

        assertEquals(256, Struct.size(layout));
        assertEquals(0x10, layout.nlink.offset());
        assertEquals(0x20, layout.ino.offset());
        assertEquals(0x28, layout.size.offset());
        assertEquals(0x30, layout.blocks.offset());
        assertEquals(0x88, layout.devMajor.offset());
        assertEquals(0x8c, layout.devMinor.offset());
    }

    @Test
    void statGivesInodeLinksAndApparentSizeAsJavaSeesThem(@TempDir Path dir) throws IOException {
        Path file = Files.write(dir.resolve("f"), new byte[3 * 4096 + 1]);

        Statx.Result result = Statx.load().stat(file.toString());

        assertEquals(Files.getAttribute(file, "unix:ino"), result.file().inode());
        assertEquals(1, result.links());
        assertEquals(3 * 4096 + 1, result.apparentBytes());
    }

    @Test
    void allocatedBytesLeaveOutHoles(@TempDir Path dir) throws IOException {
        Path sparse = dir.resolve("sparse");
        try (FileChannel channel = FileChannel.open(sparse, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[1]), 64L << 20);
        }

        Statx.Result result = Statx.load().stat(sparse.toString());

        assertEquals((64L << 20) + 1, result.apparentBytes());
        assertTrue(result.allocatedBytes() > 0 && result.allocatedBytes() < 1 << 20, "allocated " + result.allocatedBytes());
    }

    @Test
    void missingFileIsNoSuchFile(@TempDir Path dir) {
        assertThrows(NoSuchFileException.class, () -> Statx.load().stat(dir.resolve("absent").toString()));
    }
}
