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
