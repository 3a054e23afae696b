package io.memfdexporter.probe;

/** A loaded BPF object counting one concern; closing it detaches its programs and frees its maps. */
public sealed interface Probe extends AutoCloseable permits MemfdProbe, SizesProbe, SecretProbe {
    /** True while every program is attached. */
    boolean isAttached();

    @Override
    void close();
}
