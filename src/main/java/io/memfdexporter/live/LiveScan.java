package io.memfdexporter.live;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import io.memfdexporter.bpf.U64;
import io.memfdexporter.probe.CommKey;

/**
 * One completed scan of the host's live memfds. Immutable: scrapes read the
 * last one while the next is being built.
 *
 * @param method           how the scan was made
 * @param byComm           memfds alive at the scan, each counted once, under the comm of the lowest pid holding it
 * @param executable       processes mapping memfds executable, and the bytes of those mappings, by comm of the
 *                         process and kind; empty when the method does not see mappings' permissions (proc)
 * @param allocatedByCgroup allocated bytes of the same memfds as byComm, by cgroup v2 id of the process they are
 *                         attributed to; empty when the method does not see cgroups (proc)
 * @param processes        processes whose fds and mappings were all examined
 * @param fds              file descriptors examined, up to the scan's budget
 * @param skippedProcesses processes not (fully) examined, by why; a process that exited during the scan is in none
 * @param durationSeconds  how long the scan took
 * @param finishedAtSeconds when it finished, in seconds since the Unix epoch
 */
public record LiveScan(Method method, Map<CommKey, Usage> byComm, Optional<Map<Executable, ExecutableUsage>> executable,
                       Optional<Map<Long, Long>> allocatedByCgroup, int processes, long fds,
                       Map<Skip, Integer> skippedProcesses, double durationSeconds, double finishedAtSeconds) {

    public LiveScan {
        byComm = Map.copyOf(byComm);
        executable = executable.map(Map::copyOf);
        allocatedByCgroup = allocatedByCgroup.map(Map::copyOf);
        skippedProcesses = Map.copyOf(skippedProcesses);
    }

    /** How live memfds are found; {@link #label()} is the {@code method} label, {@link #flag()} the flag value. */
    public enum Method {
        /** bpf/live.bpf.c's task_file and task_vma iterators. */
        BPF_ITERATOR,
        /** Walking /proc/PID/fd and /proc/PID/map_files. */
        PROC;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        public String flag() {
            return label().replace('_', '-');
        }
    }

    /** Whether a memfd mapped executable is the process's own executable (it was exec'ed from a memfd). */
    public enum ExecutableKind {
        /** The memfd is the process's executable ({@code /proc/PID/exe}). */
        EXE,
        /** Any other executable mapping of a memfd: dlopen, mmap or mprotect with PROT_EXEC. */
        MAPPED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The key of {@link #executable()}: the mapping process's comm (its main thread's) and the kind. */
    public record Executable(CommKey comm, ExecutableKind kind) {
    }

    /** Processes with at least one executable memfd mapping of a kind, and those mappings' bytes. */
    public record ExecutableUsage(long processes, long bytes) {
        public ExecutableUsage plus(ExecutableUsage other) {
            return new ExecutableUsage(U64.add(processes, other.processes), U64.add(bytes, other.bytes));
        }
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
        /**
         * The scan's budget (--collector.live.max-fds) ran out before or inside it. The bpf_iterator method
         * bounds the memfd records it reads instead and stops the iteration when they run out, so it cannot
         * know how many processes it did not visit: it reports 1.
         */
        BUDGET,
        /** Reading its fds or mappings was refused (proc method): the exporter lacks CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH or CAP_CHECKPOINT_RESTORE. */
        DENIED,
        /** Any other error reading it; logged at debug level. */
        ERROR;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
