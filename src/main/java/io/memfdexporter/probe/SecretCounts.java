package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/** What bpf/secret.bpf.c's maps held at one read. */
public record SecretCounts(Map<CommKey, Long> calls, Map<FailureKey, Long> failures, SecretTotals totals,
                           List<MapFill> fill) implements ProbeCounts {
    public SecretCounts {
        calls = Map.copyOf(calls);
        failures = Map.copyOf(failures);
        fill = List.copyOf(fill);
    }
}
