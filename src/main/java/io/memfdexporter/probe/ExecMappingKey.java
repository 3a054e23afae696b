package io.memfdexporter.probe;

import java.nio.ByteBuffer;

/** bpf/memfd.h {@code struct exec_mapping_key}: the calling thread's comm, the syscall and the memfd's kind. */
public record ExecMappingKey(CommKey comm, ExecMappingSyscall syscall, ExecMappingKind kind) {
    public static final int SIZE = CommKey.SIZE + 2 * Integer.BYTES;

    public static ExecMappingKey read(ByteBuffer buffer) {
        CommKey comm = CommKey.read(buffer);
        ExecMappingSyscall syscall = ExecMappingSyscall.of(buffer.getInt());
        return new ExecMappingKey(comm, syscall, ExecMappingKind.of(buffer.getInt()));
    }
}
