package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/**
 * bpf/memfd.h {@code struct exec_key}: the comm of the thread that called
 * execve/execveat, before exec renamed it (empty unless {@code commKnown}),
 * the executed memfd's name kind, and how it was executed.
 */
public record ExecKey(CommKey comm, MemfdNameKind nameKind, boolean commKnown, ExecVia via) {
    public static final int SIZE = CommKey.SIZE + 3 * Integer.BYTES;

    public static ExecKey read(ByteBuffer buffer) {
        CommKey comm = CommKey.read(buffer);
        MemfdNameKind nameKind = MemfdNameKind.of(buffer.getInt());
        boolean commKnown = buffer.getInt() != 0;
        return new ExecKey(comm, nameKind, commKnown, ExecVia.of(buffer.getInt()));
    }
}
