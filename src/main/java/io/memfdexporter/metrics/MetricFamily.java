package io.memfdexporter.metrics;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Every metric family the exporter exposes: name, type, labels and help are
 * defined here and nowhere else. The README's metrics table is
 * {@link #markdownTable()}, checked by a test so the two cannot drift.
 */
public enum MetricFamily {
    CALLS("memfd_create_calls", Type.COUNTER,
            "memfd_create(2) calls by the calling thread's command name (comm).", "comm"),
    CALLS_BY_FLAGS("memfd_create_calls_by_flags", Type.COUNTER,
            "memfd_create(2) calls by flags argument: MFD_* names joined by |, 'none' for 0, 'invalid' for any undefined bit.",
            "flags"),
    FAILURES("memfd_create_failures", Type.COUNTER,
            "memfd_create(2) calls that failed, by comm and errno name (EMFILE, EINVAL, ...).", "comm", "errno"),
    OBSERVED_CALLS("memfd_create_observed_calls", Type.COUNTER,
            "Every memfd_create(2) call the probe saw, from a per-CPU counter that never fails to update."),
    OBSERVED_FAILURES("memfd_create_observed_failures", Type.COUNTER,
            "Every failed memfd_create(2) call the probe saw, from a per-CPU counter that never fails to update."),
    UNRECORDED("memfd_create_unrecorded", Type.COUNTER,
            "Calls (map calls_by_comm, calls_by_flags) or failures (map failures_by_comm) seen but not recorded per key"
                    + " because the map was full; they are still in the observed totals.", "map"),
    EXECS("memfd_exec", Type.COUNTER,
            "Executions (execve, execveat) of a memfd, by comm of the calling thread before exec renamed it ('(unknown)'"
                    + " when its execve/execveat was not seen) and memfd_name_kind ('runc' for runc_cloned:*, else 'other').",
            "comm", "memfd_name_kind"),
    OBSERVED_EXECS("memfd_exec_observed", Type.COUNTER,
            "Every execution of a memfd the probe saw, from a per-CPU counter that never fails to update."),
    UNRECORDED_EXECS("memfd_exec_unrecorded", Type.COUNTER,
            "Executions of memfds seen but not recorded per key because the map execs_by_comm was full; they are still"
                    + " in memfd_exec_observed_total."),
    MAP_ENTRIES("memfd_exporter_bpf_map_entries", Type.GAUGE,
            "Entries in each BPF hash map at the last scrape.", "map"),
    MAP_CAPACITY("memfd_exporter_bpf_map_capacity", Type.GAUGE,
            "Maximum entries of each BPF hash map (--bpf.max-comms for the per-comm maps).", "map"),
    READ_DURATION("memfd_exporter_map_read_duration_seconds", Type.GAUGE,
            "Time the last scrape spent reading each probe's BPF maps (probe memfd: memfd_create; exec: executions).",
            "probe"),
    READ_ERRORS("memfd_exporter_map_read_errors", Type.COUNTER,
            "Scrapes in which reading a probe's BPF maps failed; such a scrape leaves out that probe's metrics.", "probe"),
    BUILD("memfd_exporter_build", Type.INFO,
            "Always 1; labels name the exporter version and the libbpf and Java runtimes it uses.",
            "version", "libbpf_version", "java_version");

    /** Prometheus metric types as exposed. */
    public enum Type {
        COUNTER("_total"), GAUGE(""), INFO("_info");

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

    /** The README's metrics table. */
    public static String markdownTable() {
        return Stream.concat(Stream.of("| Metric | Type | Labels | Meaning |", "|---|---|---|---|"),
                Stream.of(values()).map(family -> "| `" + family.exposedName() + "` | " + family.type + " | "
                        + family.labels.stream().map(label -> "`" + label + "`").collect(Collectors.joining(", "))
                        + " | " + family.help.replace("|", "\\|") + " |"))
                .collect(Collectors.joining("\n", "", "\n"));
    }
}
