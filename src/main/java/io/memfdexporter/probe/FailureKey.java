package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/** bpf/memfd.h {@code struct failure_key}: comm and the errno memfd_create failed with. */
public record FailureKey(CommKey comm, int errno) {
    public static final int SIZE = CommKey.SIZE + Integer.BYTES;

    public static FailureKey read(ByteBuffer buffer) {
        CommKey comm = CommKey.read(buffer);
        return new FailureKey(comm, buffer.getInt());
    }
}
