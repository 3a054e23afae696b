package io.memfdexporter.metrics;

import java.util.List;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Every metric family the exporter exposes: name, type, labels and help are
 * defined here and nowhere else. The metrics table of docs/metrics.md is
 * {@link #markdownTable()}, generated and checked by ReferenceDocsTest so the two cannot drift.
 */
public enum MetricFamily {
    CALLS("memfd_create_calls", Type.COUNTER,
            "memfd_create(2) calls by the calling thread's command name (comm); once --collector.max-comms comms have"
                    + " a series, comms seen later are summed as comm=\"(other)\" (see docs/metrics.md).", "comm"),
    CALLS_BY_FLAGS("memfd_create_calls_by_flags", Type.COUNTER,
            "memfd_create(2) calls by flags argument: MFD_* names joined by |, 'none' for 0, 'invalid' for any undefined bit.",
            "flags"),
    FAILURES("memfd_create_failures", Type.COUNTER,
            "memfd_create(2) calls that failed, by comm and errno name (EMFILE, EINVAL, ...).", "comm", "errno"),
    CALLS_BY_CGROUP("memfd_create_calls_by_cgroup", Type.COUNTER,
            "memfd_create(2) calls by the caller's cgroup v2 path (containers, pods, systemd units; '(unknown)' for"
                    + " cgroups removed before they could be named) and the container_id and pod_uid the path names, spelled"
                    + " as kube-state-metrics spells them (empty when none).", CgroupLabels.NAMES),
    FAILURES_BY_CGROUP("memfd_create_failures_by_cgroup", Type.COUNTER,
            "memfd_create(2) calls that failed, by the caller's cgroup v2 path, container_id and pod_uid as in"
                    + " memfd_create_calls_by_cgroup_total.", CgroupLabels.NAMES),
    BY_CGROUP_REMOVED("memfd_by_cgroup_removed", Type.COUNTER,
            "What each per-cgroup family (label family: its exposed name) counted for cgroups since removed: a removed"
                    + " cgroup's series ends and its count moves here, freeing its slot in the kernel map, so that the"
                    + " family's sum + this + its unrecorded count == the observed total.", "family"),
    BY_CGROUP_UNRECORDED("memfd_by_cgroup_unrecorded", Type.COUNTER,
            "What each per-cgroup family (label family: its exposed name) saw but could not record per cgroup because"
                    + " its kernel map was full (" + CgroupLabels.MAP_ENTRIES + " cgroups with counts at once); it is still"
                    + " in the family's observed total.", "family"),
    OBSERVED_CALLS("memfd_create_observed_calls", Type.COUNTER,
            "Every memfd_create(2) call the probe saw, from a per-CPU counter that never fails to update."),
    OBSERVED_FAILURES("memfd_create_observed_failures", Type.COUNTER,
            "Every failed memfd_create(2) call the probe saw, from a per-CPU counter that never fails to update."),
    CALLS_PER_PROCESS_SECOND("memfd_create_calls_per_process_second", Type.HISTOGRAM,
            "memfd_create(2) calls one process made in one second: one observation per process per one-second window"
                    + " that starts at its first call (log2 buckets; native histogram schema 0)."),
    UNRECORDED("memfd_create_unrecorded", Type.COUNTER,
            "Calls (map calls_by_comm, calls_by_flags, calls_by_cgroup, rate_windows) or failures (map failures_by_comm)"
                    + " seen but not recorded per key because the map was full; they are still in the observed totals.", "map"),
    EXECS("memfd_exec", Type.COUNTER,
            "Executions (execve, execveat) of a memfd, by comm of the calling thread before exec renamed it ('(unknown)'"
                    + " when its execve/execveat was not seen, before Linux 6.10), memfd_name_kind ('runc' for runc_cloned:*"
                    + " executed by root's runc, else 'other') and via ('binary': the memfd is the executable;"
                    + " 'interpreter': a #! script or binfmt_misc file in a memfd, executed by fd, handed to its interpreter).",
            "comm", "memfd_name_kind", "via"),
    EXECS_BY_CGROUP("memfd_exec_by_cgroup", Type.COUNTER,
            "Executions of a memfd (as in memfd_exec_total) by the executing process's cgroup v2 path, container_id and"
                    + " pod_uid as in memfd_create_calls_by_cgroup_total.", CgroupLabels.NAMES),
    OBSERVED_EXECS("memfd_exec_observed", Type.COUNTER,
            "Every execution of a memfd the probe saw, from a per-CPU counter that never fails to update."),
    UNRECORDED_EXECS("memfd_exec_unrecorded", Type.COUNTER,
            "Executions of memfds seen but not recorded per key because the map execs_by_comm was full; they are still"
                    + " in memfd_exec_observed_total."),
    EXEC_MAPPINGS("memfd_exec_mappings", Type.COUNTER,
            "mmap(2), mprotect(2) and pkey_mprotect(2) calls that left a memfd mapped executable (PROT_EXEC, or PROT_READ"
                    + " under personality READ_IMPLIES_EXEC), from the mappings the call made, not its fd argument; by comm"
                    + " of the calling thread, syscall and kind, kernel evidence about the memfd at that moment:"
                    + " 'double_mapped' (another shared mapping of it is or may be made writable: code that can change while"
                    + " it runs), else 'sealed' (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE), else 'plain'.",
            "comm", "syscall", "kind"),
    EXEC_MAPPINGS_BY_CGROUP("memfd_exec_mappings_by_cgroup", Type.COUNTER,
            "Calls that left a memfd mapped executable (as in memfd_exec_mappings_total) by the calling process's cgroup"
                    + " v2 path, container_id and pod_uid as in memfd_create_calls_by_cgroup_total.", CgroupLabels.NAMES),
    OBSERVED_EXEC_MAPPINGS("memfd_exec_mappings_observed", Type.COUNTER,
            "Every call that mapped a memfd executable the probe saw, from a per-CPU counter that never fails to update."),
    UNRECORDED_EXEC_MAPPINGS("memfd_exec_mappings_unrecorded", Type.COUNTER,
            "Calls that mapped a memfd executable, seen but not recorded per key because the map exec_mappings_by_comm"
                    + " was full; they are still in memfd_exec_mappings_observed_total."),
    UNCHECKED_EXEC_MAPPINGS("memfd_exec_mappings_unchecked", Type.COUNTER,
            "Successful calls asking for PROT_EXEC whose mappings the probe could not examine (the address space was"
                    + " locked by another thread at that moment, the mapping was already gone, or an mprotect range spanned"
                    + " more than 8 mappings before an executable memfd): memfds or not, they are in no other"
                    + " memfd_exec_mappings_* count."),
    REQUESTED_SIZE("memfd_requested_size_bytes", Type.HISTOGRAM,
            "Sizes that successful ftruncate(2) (length) and fallocate(2) (offset + len) calls on memfds requested,"
                    + " in power-of-two buckets (native histogram schema 0)."),
    REQUESTED_BYTES("memfd_requested_bytes", Type.COUNTER,
            "Sum of the sizes that successful ftruncate(2) and fallocate(2) calls on memfds requested, by comm;"
                    + " requests, not memory in use. Stops at 2^64-1 (1.8446744073709552e+19) instead of wrapping;"
                    + " comms are bounded as in memfd_create_calls_total.", "comm"),
    REQUESTED_BYTES_BY_CGROUP("memfd_requested_bytes_by_cgroup", Type.COUNTER,
            "memfd_requested_bytes_total by the caller's cgroup v2 path, container_id and pod_uid as in"
                    + " memfd_create_calls_by_cgroup_total. A cgroup's sum stops at 2^63-1; what it cannot add is in"
                    + " memfd_by_cgroup_unrecorded_total.", CgroupLabels.NAMES),
    REQUESTED_UNRECORDED_BYTES("memfd_requested_unrecorded_bytes", Type.COUNTER,
            "Requested bytes in no memfd_requested_bytes_total series: the map requested_bytes_by_comm was full, or the"
                    + " comm's sum had reached 2^64-1. Stops at 2^64-1 too."),
    REQUESTED_UNSUMMED_BYTES("memfd_requested_size_unsummed_bytes", Type.COUNTER,
            "Requested bytes that memfd_requested_size_bytes_sum could not add: the kernel keeps that sum per CPU and"
                    + " each part stops at 2^64-1 instead of wrapping (one call may request 2^63-1 bytes). Stops at 2^64-1 too."),
    SECRET_CALLS("memfd_secret_calls", Type.COUNTER,
            "memfd_secret(2) calls, successful or not, by comm. Absent on kernels without CONFIG_SECRETMEM.", "comm"),
    SECRET_FAILURES("memfd_secret_failures", Type.COUNTER,
            "memfd_secret(2) calls that failed, by comm and errno name (ENOSYS when secretmem is disabled at boot,"
                    + " EINVAL, EMFILE, ...).", "comm", "errno"),
    SECRET_UNRECORDED("memfd_secret_unrecorded", Type.COUNTER,
            "memfd_secret(2) calls (map secret_calls_by_comm) or failures (map secret_failures_by_comm) not recorded"
                    + " per key because the map was full.", "map"),
    FOLDED_COMMS("memfd_exporter_folded_comms", Type.GAUGE,
            "Comm labels summed into comm=\"(other)\" in each per-comm family (label family: the family's exposed"
                    + " name) at this scrape; for memfd_live_*, at the last live scan.", "family"),
    MAP_ENTRIES("memfd_exporter_bpf_map_entries", Type.GAUGE,
            "Entries in each BPF hash map at the last scrape; for a per-comm family, the slots taken in its slot table (by a key, or lost to a race of first calls).", "map"),
    MAP_CAPACITY("memfd_exporter_bpf_map_capacity", Type.GAUGE,
            "Maximum entries of each BPF hash map (--bpf.max-comms for the per-comm slot tables).", "map"),
    COLLECTOR_DURATION("memfd_exporter_collector_duration_seconds", Type.GAUGE,
            "Time each collector took in this scrape.", "collector"),
    COLLECTOR_SUCCESS("memfd_exporter_collector_success", Type.GAUGE,
            "1 if the collector succeeded in this scrape, 0 if it failed (its metrics are then absent; see the log).",
            "collector"),
    PROGRAM_RUNS("memfd_exporter_bpf_program_runs", Type.COUNTER,
            "Times each of the exporter's BPF programs ran while the kernel measured BPF stats"
                    + " (sysctl kernel.bpf_stats_enabled=1); stays 0 otherwise.", "program"),
    PROGRAM_RUN_TIME("memfd_exporter_bpf_program_run_time_seconds", Type.COUNTER,
            "Time each of the exporter's BPF programs ran while the kernel measured BPF stats"
                    + " (sysctl kernel.bpf_stats_enabled=1); stays 0 otherwise.", "program"),
    BUILD("memfd_exporter_build", Type.INFO,
            "Always 1; labels name the exporter version and the libbpf and Java runtimes it uses.",
            "version", "libbpf_version", "java_version"),
    LIVE_ALLOCATED("memfd_live_allocated_bytes", Type.GAUGE,
            "Memory allocated (st_blocks x 512: pages in RAM or swap) to the memfds alive at the last live scan, held by"
                    + " an fd or only mapped; each memfd counted once, under the comm of the lowest pid holding it. The"
                    + " --collector.max-comms comms with the most allocated bytes have a series, the rest are summed as"
                    + " comm=\"(other)\".",
            "comm"),
    LIVE_APPARENT("memfd_live_apparent_bytes", Type.GAUGE,
            "Apparent size (st_size) of the same memfds; above memfd_live_allocated_bytes when they are sparse.",
            "comm"),
    LIVE_FILES("memfd_live_files", Type.GAUGE,
            "Memfds alive at the last live scan, counted as for memfd_live_allocated_bytes.", "comm"),
    LIVE_EXECUTABLE_BYTES("memfd_live_executable_bytes", Type.GAUGE,
            "Bytes of executable (VM_EXEC) mappings of memfds at the last live scan, by comm of the mapping process and"
                    + " kind: exe when the memfd is that process's own executable (it was exec'ed from a memfd, as runc"
                    + " re-executes itself), mapped otherwise (dlopen of a memfd, mmap or mprotect with PROT_EXEC: loaders,"
                    + " JIT double mapping). Every comm has both kinds. Only with --collector.live.method=bpf-iterator.",
            "comm", "kind"),
    LIVE_EXECUTABLE_PROCESSES("memfd_live_executable_processes", Type.GAUGE,
            "Processes with at least one executable mapping of a memfd at the last live scan, by comm and kind as for"
                    + " memfd_live_executable_bytes.",
            "comm", "kind"),
    LIVE_ALLOCATED_BY_CGROUP("memfd_live_allocated_bytes_by_cgroup", Type.GAUGE,
            "memfd_live_allocated_bytes by cgroup v2 path of the process each memfd is attributed to; the"
                    + " --collector.max-comms largest have a series, the rest are summed as cgroup=\"(other)\"."
                    + " Only with --collector.live.method=bpf-iterator. container_id and pod_uid as in"
                    + " memfd_create_calls_by_cgroup_total.",
            CgroupLabels.NAMES),
    LIVE_SCAN_METHOD("memfd_exporter_live_scan_method", Type.GAUGE,
            "1 for how live scans find memfds: bpf_iterator (BPF task_file and task_vma iterators), or proc (walking"
                    + " /proc, the fallback where the kernel refuses the iterators).",
            "method"),
    LIVE_SCAN_DURATION("memfd_exporter_live_scan_duration_seconds", Type.GAUGE,
            "Time the last completed live memfd scan took."),
    LIVE_SCAN_TIMESTAMP("memfd_exporter_live_last_scan_timestamp_seconds", Type.GAUGE,
            "When the last live memfd scan completed, in seconds since the Unix epoch: the memfd_live_* values are as of then."),
    LIVE_SCAN_ERRORS("memfd_exporter_live_scan_errors", Type.COUNTER,
            "Live memfd scans that failed as a whole (/proc could not be listed, or an iterator could not be read); the"
                    + " previous scan's result stays exposed."),
    LIVE_SCANNED_PROCESSES("memfd_exporter_live_scanned_processes", Type.GAUGE,
            "Processes whose fds and mappings the last live scan examined completely."),
    LIVE_SCANNED_FDS("memfd_exporter_live_scanned_fds", Type.GAUGE,
            "File descriptors the last live scan examined: at most --collector.live.max-fds with the proc method; every"
                    + " fd in the exporter's pid namespace with bpf_iterator, which bounds memfd records instead."),
    LIVE_SKIPPED_PROCESSES("memfd_exporter_live_skipped_processes", Type.GAUGE,
            "Processes the last live scan did not examine completely, by reason: budget (--collector.live.max-fds"
                    + " reached; bpf_iterator says 1, not knowing how many it did not visit), denied (permission),"
                    + " error (logged at debug level).",
            "reason");

    /** Prometheus metric types as exposed. */
    public enum Type {
        COUNTER("_total"), GAUGE(""), HISTOGRAM(""), INFO("_info");

        private final String suffix;

        Type(String suffix) {
            this.suffix = suffix;
        }

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final String name;
    private final Type type;
    private final String help;
    private final List<String> labels;

    MetricFamily(String name, Type type, String help, String... labels) {
        this.name = name;
        this.type = type;
        this.help = help;
        this.labels = List.of(labels);
    }

    /** The name given to client_java, which appends the type's suffix. */
    public String baseName() {
        return name;
    }

    /** The name as it appears in the text exposition and in PromQL. */
    public String exposedName() {
        return name + type.suffix;
    }

    public Type type() {
        return type;
    }

    public String help() {
        return help;
    }

    public List<String> labels() {
        return labels;
    }

    /** A snapshot builder named and described as this family; fails for a family of another type. */
    public CounterSnapshot.Builder counter() {
        requireType(Type.COUNTER);
        return CounterSnapshot.builder().name(name).help(help);
    }

    public GaugeSnapshot.Builder gauge() {
        requireType(Type.GAUGE);
        GaugeSnapshot.Builder builder = GaugeSnapshot.builder().name(name).help(help);
        return name.endsWith("_seconds") ? builder.unit(Unit.SECONDS) : builder;
    }

    public HistogramSnapshot.Builder histogram() {
        requireType(Type.HISTOGRAM);
        return HistogramSnapshot.builder().name(name).help(help);
    }

    public InfoSnapshot.Builder info() {
        requireType(Type.INFO);
        return InfoSnapshot.builder().name(name).help(help);
    }

    private void requireType(Type expected) {
        if (type != expected) {
            throw new IllegalStateException(name + " is a " + type + ", not a " + expected);
        }
    }

    /** The metrics table of docs/metrics.md. */
    public static String markdownTable() {
        return Stream.concat(Stream.of("| Metric | Type | Labels | Meaning |", "|---|---|---|---|"),
                Stream.of(values()).map(family -> "| `" + family.exposedName() + "` | " + family.type + " | "
                        + family.labels.stream().map(label -> "`" + label + "`").collect(Collectors.joining(", "))
                        + " | " + family.help.replace("|", "\\|") + " |"))
                .collect(Collectors.joining("\n", "", "\n"));
    }
}
