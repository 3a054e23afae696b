package io.memfdexporter.probe;

import java.util.List;
import java.util.Map;

/**
 * What bpf/sizes.bpf.c's maps held at one read: the histogram of requested
 * sizes, the bytes per comm, and the bytes whose comm the full map could not
 * hold, so that {@code sum(bytesByComm) + unrecordedBytes == sizes.sum()}
 * when no call happened during the read.
 */
public record SizesCounts(Log2Histogram sizes, Map<CommKey, Long> bytesByComm, long unrecordedBytes,
                          List<MapFill> fill) implements ProbeCounts {
    public SizesCounts {
        bytesByComm = Map.copyOf(bytesByComm);
        fill = List.copyOf(fill);
    }
}
