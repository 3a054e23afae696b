package io.memfdexporter.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.testing.Dashboard;
import io.memfdexporter.testing.MetricNames;
import io.memfdexporter.testing.RequiresJsonnet;
import io.memfdexporter.testing.RuleFile;
import io.memfdexporter.testing.Tool;
import io.vertx.core.json.JsonObject;

/**
 * mixin/ is the source of the shipped rules and dashboard: they are exactly
 * what mixin/generate.sh renders, and a user's memfdExporterSelector reaches
 * every series selector of every rule and panel query (AlertRulesTest,
 * DashboardTest and MonitoringStackKernelTest test the shipped files).
 */
@ExtendWith(RequiresJsonnet.class)
class MixinTest {
    private static final List<Path> GENERATED = List.of(RuleFile.SHIPPED, Dashboard.SHIPPED);
    private static final String DEFAULT_SELECTOR = "job=\"memfd_exporter\"";
    /** Two matchers, one of them a label the exporter never sets, as a user of kube-prometheus might select. */
    private static final String SELECTOR = "cluster=\"eu-1\", job=\"node\"";
    private static final String THRESHOLD_PREFIX = "memfd_exporter:alert_threshold:";
    private static final String DEFAULT_INSTANCE_LABELS = "job, instance";
    /** What tells one exporter from another once the selector spans clusters. */
    private static final String INSTANCE_LABELS = "cluster, job, instance";
    private static final String CONFIG = "{ memfdExporterSelector: '" + SELECTOR + "', instanceLabels: '" + INSTANCE_LABELS + "' }";
    /** kube-state-metrics as a user of the drill-down might select it. */
    private static final String KUBE_STATE_METRICS = "cluster=\"eu-1\", job=\"ksm\"";
    /** Prometheus's own series of the alerts: the dashboard selects them by alert name, job and instance. */
    private static final Pattern ALERT_SERIES = Pattern.compile("ALERTS(_FOR_STATE)?");
    /** A by (...) or on (...) clause of PromQL: its label list. */
    private static final Pattern GROUPING = Pattern.compile("\\b(?:by|on) \\(([^)]*)\\)");
    /** How a series finds its threshold record: on and min by its scope labels (alerts.libsonnet: thresholded). */
    private static final Pattern THRESHOLD_MATCH =
            Pattern.compile("on \\(([^)]*)\\) group_left \\(\\) min by \\(\\1\\) \\(" + THRESHOLD_PREFIX);
    /** The default hostLabels: how the exporter's series meet node_exporter's. */
    private static final String HOST_LABELS = "instance";
    /** Other jobs' series the rules read, each through its own configured selector (config.libsonnet). */
    private static final Map<String, String> OTHER_JOBS = Map.of(
            "node_memory_MemTotal_bytes", "",
            "prometheus_rule_evaluation_failures_total", "job=\"prometheus\"");

    @Test
    void theCommittedFilesAreWhatGenerateShRenders(@TempDir Path output) throws Exception {
        Tool.Result result = Tool.run(List.of("bash", "mixin/generate.sh", output.toString()));
        assertEquals(0, result.exitCode(), result.output());
        for (Path file : GENERATED) {
            Path rendered = output.resolve(file);
            if (!Files.readString(file).equals(Files.readString(rendered))) {
                String diff = Tool.run(List.of("diff", "-u", file.toString(), rendered.toString())).output();
                throw new AssertionError(file + " is not what the mixin renders: edit mixin/, not the generated file, "
                        + "then run mixin/generate.sh and commit both.\n"
                        + diff.substring(0, Math.min(diff.length(), 4000)));
            }
        }
    }

    /**
     * Every recording and alerting rule but the thresholds reads the exporter's
     * series through the selector only, and what it aggregates or matches per
     * exporter, it does by the configured instance labels.
     */
    @Test
    void everyRuleSelectsTheExportersSeriesWithTheConfiguredSelector() throws Exception {
        JsonObject mixin = render(CONFIG);
        RuleFile rules = RuleFile.parse(mixin.getJsonObject("rules").encode());
        RuleFile alerts = RuleFile.parse(mixin.getJsonObject("alerts").encode());
        List<String> expressions = new ArrayList<>();
        for (RuleFile.Recording recording : rules.recordings()) {
            if (recording.name().startsWith(THRESHOLD_PREFIX)) {
                assertTrue(recording.expr().matches("vector\\([0-9.]+\\)"), recording.name() + ": " + recording.expr());
            } else {
                expressions.add(recording.expr());
            }
        }
        alerts.alerts().forEach(alert -> expressions.add(alert.expr()));
        // As many as the shipped file has: the selector changes no rule's existence.
        RuleFile shipped = RuleFile.read(RuleFile.SHIPPED);
        assertEquals(shipped.alerts().size(), alerts.alerts().size());
        assertEquals(shipped.recordings().size(), rules.recordings().size());
        assertEquals(8 + shipped.alerts().size(), expressions.size(), "the non-threshold rules checked");
        int perExporter = 0;
        for (String expr : expressions) {
            assertSelectsOnlyThrough(expr, SELECTOR, "", null);
            // The threshold matches are by scope labels (thresholdScopeLabels), the join with
            // node_exporter by hostLabels: neither is per exporter.
            Matcher grouping = GROUPING.matcher(THRESHOLD_MATCH.matcher(expr).replaceAll(THRESHOLD_PREFIX));
            while (grouping.find()) {
                List<String> labels = List.of(grouping.group(1).split(",\\s*"));
                if (labels.contains("instance") && !grouping.group(1).equals(HOST_LABELS)) {
                    assertEquals(List.of("cluster", "job", "instance"), labels.subList(0, 3), expr);
                    perExporter++;
                }
            }
        }
        // Burst and huge size: by, on, by; not counting and unscraped histograms: by, on; live scan
        // stale: on; host memory: the sum by, once in the comparison and once in each of its 4
        // threshold branches (scopes job and instance).
        assertEquals(3 + 3 + 2 + 2 + 1 + 5, perExporter, "by/on clauses over the instance labels");
    }

    /**
     * Every panel query and the job and instance variables' queries select through the selector, then $job
     * and $instance; kube-state-metrics' series (the drill-down) through its own configured selector.
     */
    @Test
    void everyDashboardQuerySelectsTheExportersSeriesWithTheConfiguredSelector() throws Exception {
        JsonObject mixin = render(CONFIG.replace(" }", ", dashboard+: { kubeStateMetricsSelector: '" + KUBE_STATE_METRICS + "' } }"));
        Dashboard dashboard = Dashboard.of(mixin.getJsonObject("dashboards").getJsonObject("memfd_exporter.json"));
        List<Dashboard.Query> queries = dashboard.queries();
        assertEquals(Dashboard.read(Dashboard.SHIPPED).queries().size(), queries.size());
        for (Dashboard.Query query : queries) {
            assertSelectsOnlyThrough(query.expr(), SELECTOR, ", job=~\"$job\", instance=~\"$instance\"", KUBE_STATE_METRICS);
        }
        assertEquals("label_values(kube_pod_container_info{" + KUBE_STATE_METRICS + ", namespace=~\"$namespace\"}, pod)",
                dashboard.variable("pod").getString("definition"));
        assertEquals("label_values(memfd_exporter_build_info{" + SELECTOR + "}, job)",
                dashboard.variable("job").getString("definition"));
        assertEquals("label_values(memfd_exporter_build_info{" + SELECTOR + ", job=~\"$job\"}, instance)",
                dashboard.variable("instance").getString("definition"));
    }

    /**
     * The selector and the instance labels are all that change: rendered with
     * others, then those replaced by the defaults, the rules and the dashboard are the shipped ones.
     */
    @Test
    void theSelectorIsTheOnlyDifferenceFromTheShippedFiles() throws Exception {
        JsonObject mixin = new JsonObject(render(CONFIG).encode()
                .replace(SELECTOR.replace("\"", "\\\""), DEFAULT_SELECTOR.replace("\"", "\\\""))
                .replace(INSTANCE_LABELS, DEFAULT_INSTANCE_LABELS));
        assertFalse(mixin.encode().contains("eu-1"));
        Map<String, Object> shippedRules = RuleFile.yaml().load(Files.readString(RuleFile.SHIPPED));
        List<Object> groups = new ArrayList<>(mixin.getJsonObject("rules").getJsonArray("groups").getList());
        groups.addAll(mixin.getJsonObject("alerts").getJsonArray("groups").getList());
        Object renderedRules = RuleFile.yaml().load(new JsonObject().put("groups", groups).encode());
        assertEquals((Object) shippedRules, renderedRules);
        JsonObject shippedDashboard = Dashboard.read(Dashboard.SHIPPED).json();
        shippedDashboard.remove("__generated");
        assertEquals(shippedDashboard, mixin.getJsonObject("dashboards").getJsonObject("memfd_exporter.json"));
    }

    /** Thresholds in _config become the recorded threshold series; a bucket threshold's le is the bound, in both spellings. */
    @Test
    void thresholdsInTheConfigBecomeTheRecordedThresholds() throws Exception {
        JsonObject mixin = render("{ thresholds+: { floodCallsPerSecond: 50, burstCallsPerSecond: 1024,"
                + " requestedSizeBytes: 17179869184, failuresPerSecond: 0.25, failureErrnos: ['EMFILE'] } }");
        Map<String, List<String>> thresholds = RuleFile.parse(mixin.getJsonObject("rules").encode()).recordings()
                .stream().filter(recording -> recording.name().startsWith(THRESHOLD_PREFIX))
                .collect(Collectors.groupingBy(recording -> recording.name().substring(THRESHOLD_PREFIX.length()),
                        Collectors.mapping(recording -> recording.expr() + " " + recording.labels(), Collectors.toList())));
        assertEquals(List.of("vector(50) {}", "vector(1000) {comm=(other)}"), thresholds.get("flood_calls_per_second"));
        // One record per spelling of le: the exporter's (Prometheus 2.x, text) and Prometheus 3's.
        assertEquals(List.of("vector(1024) {le=1024.0}"), thresholds.get("burst_calls_per_second"));
        assertEquals(List.of("vector(17179869184) {le=1.7179869184E10}", "vector(17179869184) {le=1.7179869184e+10}"),
                thresholds.get("requested_size_bytes"));
        assertEquals(List.of("vector(0.25) {errno=EMFILE}"), thresholds.get("failures_per_second"));
        assertEquals(List.of("vector(1073741824) {}"), thresholds.get("live_allocated_bytes"), "the others keep their defaults");
        Tool.Result notABucket = Tool.JSONNET.run("-e",
                "((import 'mixin/mixin.libsonnet') + { _config+:: { thresholds+: { burstCallsPerSecond: 1000 } } }).prometheusRules");
        assertEquals(1, notABucket.exitCode(), notABucket.output());
        assertTrue(notABucket.output().contains("bucket bounds are powers of two, not 1000"), notABucket.output());
    }

    /**
     * Every series selector of the expression: the threshold series carry no
     * selector (they are recorded from vector(), without the exporter's
     * labels); kube-state-metrics' (kube_*) start with {@code kubeStateMetrics}; Prometheus's
     * ALERTS series are Prometheus's; other jobs' series the rules read (OTHER_JOBS) start with
     * their own selector; every other one starts with the selector's matchers, then {@code rest}.
     * No series is read outside a selector but the thresholds.
     */
    private static void assertSelectsOnlyThrough(String expr, String selector, String rest, String kubeStateMetrics) {
        Matcher matcher = MetricNames.SELECTOR.matcher(expr);
        int selected = 0;
        while (matcher.find()) {
            String metric = matcher.group(1);
            assertTrue(metric != null, expr + ": every selector names its metric");
            if (metric.startsWith(THRESHOLD_PREFIX)) {
                assertFalse(matcher.group(2).contains(selector), expr + ": thresholds are not the exporter's series");
                continue;
            }
            if (OTHER_JOBS.containsKey(metric)) {
                assertTrue(matcher.group(2).startsWith(OTHER_JOBS.get(metric)), expr + ": " + metric + " through its selector");
                selected++;
                continue;
            }
            if (kubeStateMetrics != null && metric.startsWith("kube_")) {
                assertTrue(matcher.group(2).startsWith(kubeStateMetrics), expr + ": " + metric + " through " + kubeStateMetrics);
                continue;
            }
            if (kubeStateMetrics != null && ALERT_SERIES.matcher(metric).matches()) {
                selected++;
                continue;
            }
            String matchers = matcher.group(2);
            assertTrue(matchers.equals(selector + rest) || matchers.startsWith(selector + rest + ", "),
                    expr + ": " + metric + "{" + matchers + "} does not start with {" + selector + rest);
            selected++;
        }
        assertTrue(selected > 0, expr + ": reads the exporter's series");
        String outside = MetricNames.SELECTOR.matcher(expr).replaceAll("");
        assertTrue(MetricNames.readBy(outside).stream().allMatch(name -> name.startsWith(THRESHOLD_PREFIX))
                        && !outside.matches("(?s).*\\bup\\b.*"),
                expr + ": every series but the thresholds is read through a selector");
    }

    /** The mixin with the given _config overrides: its rules, alerts and dashboards as one JSON object. */
    private static JsonObject render(String config) throws IOException, InterruptedException {
        Tool.Result result = Tool.JSONNET.run("-e", "local mixin = (import 'mixin/mixin.libsonnet') + { _config+:: "
                + config + " };\n{ rules: mixin.prometheusRules, alerts: mixin.prometheusAlerts,"
                + " dashboards: mixin.grafanaDashboards }");
        assertEquals(0, result.exitCode(), result.output());
        return new JsonObject(result.output());
    }
}
