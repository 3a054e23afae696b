package io.memfdexporter;

import org.junit.jupiter.api.Assumptions;

import io.memfdexporter.bpf.KernelBtf;
import io.memfdexporter.probe.ExecProbe.CommSource;

/** {@link ExecKernelTest} with sched_prepare_exec, the default on Linux 6.10 and later. */
class ExecPrepareExecKernelTest extends ExecKernelTest {
    @Override
    CommSource commSource() {
        Assumptions.assumeTrue(KernelBtf.hasTracepoint("sched_prepare_exec"),
                "the kernel has no sched_prepare_exec tracepoint (Linux < 6.10)");
        return CommSource.PREPARE_EXEC;
    }
}
