package io.memfdexporter;

import io.memfdexporter.probe.ExecProbe.CommSource;

/** {@link ExecKernelTest} with the syscall-tracepoint stash, the default before Linux 6.10. */
class ExecSyscallStashKernelTest extends ExecKernelTest {
    @Override
    CommSource commSource() {
        return CommSource.SYSCALL_STASH;
    }
}
