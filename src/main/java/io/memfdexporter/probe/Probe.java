package io.memfdexporter.probe;

import java.util.List;

import io.memfdexporter.bpf.BpfObject.ProgramStats;

/** A loaded BPF object counting one concern; closing it detaches its programs and frees its maps. */
public sealed interface Probe extends AutoCloseable permits MemfdProbe, SizesProbe, SecretProbe, ExecProbe,
        ExecMappingProbe {
    /** True while every program is attached. */
    boolean isAttached();

    /** Kernel-measured cost of each attached program (zero unless kernel.bpf_stats_enabled=1). */
    List<ProgramStats> programStats();

    @Override
    void close();
}
