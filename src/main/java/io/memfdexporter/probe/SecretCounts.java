package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/** What bpf/secret.bpf.c's maps held at one read. */
public record SecretCounts(SlotCounts<CommKey> calls, SlotCounts<FailureKey> failures, SecretTotals totals,
                           List<MapFill> fill) implements ProbeCounts {
    public SecretCounts {
        fill = List.copyOf(fill);
    }
}
