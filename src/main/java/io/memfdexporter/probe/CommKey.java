package io.memfdexporter.probe;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * bpf/memfd.h {@code struct comm_key}: a thread's comm, up to 16 NUL-padded
 * bytes chosen by the process itself (any bytes but NUL).
 */
public record CommKey(byte[] bytes) {
    public static final int SIZE = 16;

    /** Reads a key and keeps the bytes before the first NUL. */
    public static CommKey read(ByteBuffer buffer) {
        byte[] raw = new byte[SIZE];
        buffer.get(raw);
        int length = 0;
        while (length < SIZE && raw[length] != 0) {
            length++;
        }
        return new CommKey(Arrays.copyOf(raw, length));
    }

    public CommKey {
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Non-empty and only printable ASCII (0x20 to 0x7e): the comm of nearly every process. */
    public boolean isPrintableAscii() {
        for (byte b : bytes) {
            if (b < 0x20 || b == 0x7f) { // bytes >= 0x80 are negative
                return false;
            }
        }
        return bytes.length > 0;
    }

    /** Orders comms byte by byte, unsigned; for printable ASCII comms, the order of their strings. */
    public int compareBytes(CommKey other) {
        return Arrays.compareUnsigned(bytes, other.bytes);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CommKey that && Arrays.equals(bytes, that.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "CommKey" + Arrays.toString(bytes);
    }
}
