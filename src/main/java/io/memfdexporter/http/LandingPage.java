package io.memfdexporter.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.stream.Stream;

import io.memfdexporter.metrics.MetricFamily;
import io.memfdexporter.privileges.HeldPrivileges;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * The plain HTML page at {@code /}: status at a glance, with no JavaScript. Everything it shows
 * about counting comes from the same collection a concurrent {@code /metrics} request gets
 * ({@link SharedScrape}), so the page and the metrics cannot disagree and a page costs no extra
 * map read; the process's privileges are read from /proc/self/status at request time. Every
 * string from outside (comm labels above all: any bytes a process chose) is HTML-escaped.
 */
final class LandingPage {
    /** Rows of the top-comms table: bounded whatever --collector.max-comms says. */
    static final int TOP_COMMS = 10;
    /**
     * No script, frame, form, plugin or external resource, whatever the page came to contain:
     * escaping is the defence, this header the second one.
     */
    static final String CONTENT_SECURITY_POLICY =
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private LandingPage() {
    }

    /** What the page shows besides the collection. */
    record Context(String version, String telemetryPath, boolean attached, String kernelRelease,
                   HeldPrivileges privileges, long nowMillis) {
        static Context now(String version, String telemetryPath, boolean attached) {
            return new Context(version, telemetryPath, attached, System.getProperty("os.version"),
                    HeldPrivileges.ofThisProcess(), System.currentTimeMillis());
        }
    }

    /** A comm and its memfd_create calls, as memfd_create_calls_total has them. */
    record CommCalls(String comm, double calls) {
    }

    static String html(MetricSnapshots snapshots, Context context) {
        StringBuilder page = new StringBuilder(8192);
        page.append("""
                <!DOCTYPE html>
                <html lang="en">
                <head><meta charset="utf-8"><title>memfd_exporter</title>
                <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
                th,td{border:1px solid #999;padding:2px 8px;text-align:left}td.n{text-align:right}</style></head>
                <body>
                <h1>memfd_exporter</h1>
                <p>Prometheus exporter for memfd_create(2) calls, counted in the kernel by eBPF tracepoints.</p>
                """);
        String path = escape(context.telemetryPath());
        page.append("<p><a href=\"").append(path).append("\">Metrics</a> (").append(path).append(") · <a href=\"")
                .append(MetricsServer.HEALTH_PATH).append("\">Health</a> · Documentation: <code>man memfd-exporter</code>,"
                        + " README.md and docs/ of the source (/usr/share/doc/memfd-exporter in the Debian package)</p>\n");

        page.append("<h2>Status</h2>\n<table id=\"status\">\n");
        row(page, "Version", version(snapshots, context.version()));
        row(page, "Kernel", context.kernelRelease());
        row(page, "BPF programs", context.attached() ? "attached" : "NOT attached (see the log; /-/healthy fails)");
        row(page, "Exec probe", execPath(snapshots));
        row(page, "Live scan", liveScan(snapshots, context.nowMillis()));
        HeldPrivileges held = context.privileges();
        row(page, "Privileges", "uid " + held.uids().get(1) + " (real, effective, saved, fs: " + join(held.uids()) + ")"
                + "; effective capabilities: " + held.effective()
                + "; permitted: " + (held.permitted().equals(held.effective()) ? "the same" : held.permitted())
                + (held.noNewPrivs() ? "; no_new_privs" : ""));
        page.append("</table>\n");

        page.append("<h2>Top comms by memfd_create calls</h2>\n<table id=\"top-comms\">\n"
                + "<tr><th>comm</th><th>calls</th></tr>\n");
        List<CommCalls> top = topComms(snapshots, TOP_COMMS);
        if (top.isEmpty()) {
            page.append("<tr><td colspan=\"2\">no calls counted yet</td></tr>\n");
        }
        for (CommCalls comm : top) {
            page.append("<tr><td>").append(escape(comm.comm())).append("</td><td class=\"n\">")
                    .append(number(comm.calls())).append("</td></tr>\n");
        }
        page.append("</table>\n");

        page.append("<h2>BPF maps</h2>\n<table id=\"maps\">\n<tr><th>map</th><th>entries</th><th>capacity</th><th>fill</th></tr>\n");
        for (DataPointSnapshot entries : points(snapshots, MetricFamily.MAP_ENTRIES).toList()) {
            String map = entries.getLabels().get("map");
            double used = value(entries);
            Optional<Double> capacity = points(snapshots, MetricFamily.MAP_CAPACITY)
                    .filter(point -> map.equals(point.getLabels().get("map"))).map(LandingPage::value).findFirst();
            page.append("<tr><td>").append(escape(map)).append("</td><td class=\"n\">").append(number(used))
                    .append("</td><td class=\"n\">").append(capacity.map(LandingPage::number).orElse("?"))
                    .append("</td><td class=\"n\">")
                    .append(capacity.filter(c -> c > 0).map(c -> String.format(Locale.ROOT, "%.1f %%", 100 * used / c)).orElse("?"))
                    .append("</td></tr>\n");
        }
        page.append("</table>\n");

        page.append("<h2>Collectors</h2>\n<table id=\"collectors\">\n<tr><th>collector</th><th>last scrape</th><th>took</th></tr>\n");
        for (DataPointSnapshot success : points(snapshots, MetricFamily.COLLECTOR_SUCCESS).toList()) {
            String collector = success.getLabels().get("collector");
            String took = points(snapshots, MetricFamily.COLLECTOR_DURATION)
                    .filter(point -> collector.equals(point.getLabels().get("collector")))
                    .map(point -> String.format(Locale.ROOT, "%.3f s", value(point))).findFirst().orElse("?");
            page.append("<tr><td>").append(escape(collector)).append("</td><td>")
                    .append(value(success) == 1 ? "ok" : "FAILED (see the log)").append("</td><td class=\"n\">")
                    .append(took).append("</td></tr>\n");
        }
        page.append("</table>\n</body>\n</html>\n");
        return page.toString();
    }

    /** The {@code limit} comms with the most calls, most first; O(series × log limit), no full sort. */
    static List<CommCalls> topComms(MetricSnapshots snapshots, int limit) {
        Comparator<CommCalls> order = Comparator.comparingDouble(CommCalls::calls).thenComparing(CommCalls::comm,
                Comparator.reverseOrder());
        PriorityQueue<CommCalls> top = new PriorityQueue<>(order);
        points(snapshots, MetricFamily.CALLS).forEach(point -> {
            top.add(new CommCalls(point.getLabels().get("comm"), value(point)));
            if (top.size() > limit) {
                top.poll();
            }
        });
        List<CommCalls> sorted = new ArrayList<>(top);
        sorted.sort(order.reversed());
        return sorted;
    }

    private static String version(MetricSnapshots snapshots, String fallback) {
        return points(snapshots, MetricFamily.BUILD).findFirst().map(DataPointSnapshot::getLabels)
                .map(labels -> labels.get("version") + " (libbpf " + labels.get("libbpf_version") + ", Java "
                        + labels.get("java_version") + ")")
                .orElse(fallback);
    }

    /** Which exec programs run, from the programs memfd_exporter_bpf_program_runs_total lists. */
    private static String execPath(MetricSnapshots snapshots) {
        List<String> programs = points(snapshots, MetricFamily.PROGRAM_RUNS).map(DataPointSnapshot::getLabels)
                .map(labels -> labels.get("program")).toList();
        if (programs.contains("sched_prepare_exec")) {
            return "sched_prepare_exec (Linux 6.10+: the comm before exec, no syscall tracepoint)";
        }
        if (programs.contains("sched_process_exec")) {
            return "syscall stash (comm stashed at sys_enter_execve/execveat, counted at sched_process_exec)";
        }
        return "none attached";
    }

    private static String liveScan(MetricSnapshots snapshots, long nowMillis) {
        boolean enabled = points(snapshots, MetricFamily.COLLECTOR_SUCCESS)
                .anyMatch(point -> "live".equals(point.getLabels().get("collector")));
        if (!enabled) {
            return "off (--no-collector.live)";
        }
        Optional<Double> completed = points(snapshots, MetricFamily.LIVE_SCAN_TIMESTAMP).map(LandingPage::value).findFirst();
        if (completed.isEmpty()) {
            return "no scan completed yet";
        }
        Duration age = Duration.ofMillis(Math.max(0, nowMillis - (long) (completed.get() * 1000)));
        String took = points(snapshots, MetricFamily.LIVE_SCAN_DURATION).map(LandingPage::value).findFirst()
                .map(seconds -> String.format(Locale.ROOT, ", took %.3f s", seconds)).orElse("");
        return String.format(Locale.ROOT, "last completed %.1f s ago%s", age.toMillis() / 1e3, took);
    }

    private static Stream<? extends DataPointSnapshot> points(MetricSnapshots snapshots, MetricFamily family) {
        return snapshots.stream().filter(snapshot -> snapshot.getMetadata().getName().equals(family.baseName()))
                .findFirst().map(MetricSnapshot::getDataPoints).map(List::stream).orElseGet(Stream::empty);
    }

    private static double value(DataPointSnapshot point) {
        if (point instanceof CounterSnapshot.CounterDataPointSnapshot counter) {
            return counter.getValue();
        }
        if (point instanceof GaugeSnapshot.GaugeDataPointSnapshot gauge) {
            return gauge.getValue();
        }
        throw new IllegalArgumentException("not a counter or gauge: " + point.getClass().getSimpleName());
    }

    private static String number(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value) : Double.toString(value);
    }

    private static String join(List<Integer> ids) {
        return String.join(", ", ids.stream().map(String::valueOf).toList());
    }

    private static void row(StringBuilder page, String name, String value) {
        page.append("<tr><th>").append(name).append("</th><td>").append(escape(value)).append("</td></tr>\n");
    }

    /** Text for an element or a quoted attribute: the five characters HTML gives meaning to. */
    static String escape(String text) {
        StringBuilder escaped = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> escaped.append("&amp;");
                case '<' -> escaped.append("&lt;");
                case '>' -> escaped.append("&gt;");
                case '"' -> escaped.append("&quot;");
                case '\'' -> escaped.append("&#39;");
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }
}
