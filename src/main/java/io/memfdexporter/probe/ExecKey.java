package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct exec_key}: the comm of the thread that called
 * execve/execveat, before exec renamed it (empty unless {@code commKnown}),
 * and the executed memfd's name kind.
 */
public record ExecKey(CommKey comm, MemfdNameKind nameKind, boolean commKnown) {
    public static final int SIZE = CommKey.SIZE + 2 * Integer.BYTES;

    public static ExecKey read(ByteBuffer buffer) {
        CommKey comm = CommKey.read(buffer);
        MemfdNameKind nameKind = MemfdNameKind.of(buffer.getInt());
        return new ExecKey(comm, nameKind, buffer.getInt() != 0);
    }
}
