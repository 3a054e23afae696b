package io.memfdexporter.probe;

import java.util.List;

/** One read of a probe's maps. */
public interface ProbeCounts {
    /** How full each of the probe's hash maps was. */
    List<MapFill> fill();
}
