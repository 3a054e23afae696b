package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.memfdexporter.probe.CommKey;

class CommLabelTest {
    private static String label(byte... bytes) {
        return CommLabel.of(new CommKey(bytes));
    }

    private static String label(String utf8) {
        return label(utf8.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void keepsPrintableUtf8AsIs() {
        assertEquals("python3", label("python3"));
        assertEquals("C2 CompilerThre", label("C2 CompilerThre"));
        assertEquals("q\"b\\{=,}", label("q\"b\\{=,}"), "the exposition writer escapes quotes and backslashes");
        assertEquals("é日本", label("é日本"));
    }

    @Test
    void escapesControlCharactersAndInvalidUtf8AsHex() {
        assertEquals("a\\x0ab", label("a\nb"));
        assertEquals("\\x09\\x0d\\x1b\\x7f", label("\t\r\u001b\u007f"));
        assertEquals("\\xff\\xfez", label((byte) 0xff, (byte) 0xfe, (byte) 'z'));
        assertEquals("ab\\xc3", label((byte) 'a', (byte) 'b', (byte) 0xc3), "a truncated sequence at the end");
        assertEquals("\\xc3(", label((byte) 0xc3, (byte) 0x28), "an invalid continuation byte");
        assertEquals("\\xed\\xa0\\x80", label((byte) 0xed, (byte) 0xa0, (byte) 0x80), "an encoded surrogate");
    }

    @Test
    void namesTheEmptyComm() {
        assertEquals("(empty)", label(new byte[0]));
    }

    @Test
    void readsACommKeyUpToItsFirstNul() {
        ByteBuffer key = ByteBuffer.wrap("bash\0\0\0\0\0\0\0\0\0\0\0\0".getBytes(StandardCharsets.US_ASCII));
        assertEquals(new CommKey("bash".getBytes(StandardCharsets.US_ASCII)), CommKey.read(key));
        assertEquals(16, key.position());
        ByteBuffer full = ByteBuffer.wrap("0123456789abcdef".getBytes(StandardCharsets.US_ASCII));
        assertEquals("0123456789abcdef", label(CommKey.read(full).bytes()), "16 bytes without NUL stay whole");
    }
}
