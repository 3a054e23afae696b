package io.memfdexporter.bpf;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The effective capabilities of this process, from /proc/self/status. */
public final class Capabilities {
    static final int CAP_SYS_ADMIN = 21;
    static final int CAP_PERFMON = 38;
    static final int CAP_BPF = 39;

    private final BigInteger effective;

    Capabilities(BigInteger effective) {
        this.effective = effective;
    }

    public static Capabilities ofThisProcess() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return new Capabilities(new BigInteger(line.substring("CapEff:".length()).trim(), 16));
                }
            }
        } catch (IOException e) {
            throw new BpfUnavailableException("cannot read /proc/self/status to check capabilities: " + e.getMessage());
        }
        throw new BpfUnavailableException("/proc/self/status has no CapEff line");
    }

    boolean has(int capability) {
        return effective.testBit(capability);
    }

    /** CAP_SYS_ADMIN: what a compromised exporter must not hold once running. */
    public boolean hasSysAdmin() {
        return has(CAP_SYS_ADMIN);
    }

    /**
     * Loading and attaching tracepoint programs needs CAP_BPF and CAP_PERFMON
     * (Linux 5.8+); CAP_SYS_ADMIN implies both.
     *
     * @return the missing capability names; empty when BPF may be used
     */
    public List<String> missingForTracing() {
        List<String> missing = new ArrayList<>();
        if (has(CAP_SYS_ADMIN)) {
            return missing;
        }
        if (!has(CAP_BPF)) {
            missing.add("CAP_BPF");
        }
        if (!has(CAP_PERFMON)) {
            missing.add("CAP_PERFMON");
        }
        return missing;
    }

    /** @throws BpfUnavailableException naming what is missing and how to grant it */
    public void requireTracing() {
        List<String> missing = missingForTracing();
        if (!missing.isEmpty()) {
            throw new BpfUnavailableException("missing capabilities " + String.join(", ", missing)
                    + ": run as root, or grant CAP_BPF and CAP_PERFMON (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON;"
                    + " docker: --cap-add BPF --cap-add PERFMON)");
        }
    }
}
