package io.memfdexporter.live;

import java.util.Map;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.CommKey;

/**
 * One completed scan of the host's live memfds. Immutable: scrapes read the
 * last one while the next is being built.
 *
 * @param byComm           memfds alive at the scan, each counted once, under the comm of the lowest pid holding it
 * @param processes        processes whose fds and mappings were all examined
 * @param fds              file descriptors examined, up to the scan's budget
 * @param skippedProcesses processes not (fully) examined, by why; a process that exited during the scan is in none
 * @param durationSeconds  how long the scan took
 * @param finishedAtSeconds when it finished, in seconds since the Unix epoch
 */
public record LiveScan(Map<CommKey, Usage> byComm, int processes, long fds, Map<Skip, Integer> skippedProcesses,
                       double durationSeconds, double finishedAtSeconds) {

    public LiveScan {
        byComm = Map.copyOf(byComm);
        skippedProcesses = Map.copyOf(skippedProcesses);
    }

    /**
     * What one comm holds, as u64s: sums saturate at 2^64 - 1, since one memfd's
     * apparent size alone may be 2^63 - 1 (see {@link U64}).
     */
    public record Usage(long files, long allocatedBytes, long apparentBytes) {
        public Usage plus(Usage other) {
            return new Usage(U64.add(files, other.files), U64.add(allocatedBytes, other.allocatedBytes),
                    U64.add(apparentBytes, other.apparentBytes));
        }
    }

    /** Why a process was not fully examined; {@link #label()} is the {@code reason} label. */
    public enum Skip {
        /** The scan's fd budget (--collector.live.max-fds) ran out before or inside it. */
        BUDGET,
        /** Reading its fds or mappings was refused: the exporter lacks CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH or CAP_CHECKPOINT_RESTORE. */
        DENIED,
        /** Any other error reading it; logged at debug level. */
        ERROR;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
