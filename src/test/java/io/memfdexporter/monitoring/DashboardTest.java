package io.memfdexporter.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.memfdexporter.testing.Dashboard;
import io.memfdexporter.testing.MetricNames;
import io.memfdexporter.testing.RuleFile;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The shipped Grafana dashboard is importable anywhere and its queries follow
 * one pattern. (MonitoringStackKernelTest runs every query against Prometheus.)
 */
class DashboardTest {
    private static final JsonObject DATASOURCE = new JsonObject().put("type", "prometheus").put("uid", "${datasource}");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    /** The ranges a query may use: Grafana's rate interval, and the dashboard's range (a subquery over it). */
    private static final Set<String> RANGES = Set.of("[$__rate_interval]", "[$__range:]");
    /** kube-state-metrics' series, for the drill-down: selected by their own job, not the exporter's. */
    private static final String KUBE_STATE_METRICS = "job=\"kube-state-metrics\"";
    /** Prometheus's series of the alerts: the selected job; an instance of the selection, or none (alerts about the job). */
    private static final Set<String> ALERT_SERIES = Set.of("ALERTS", "ALERTS_FOR_STATE");
    /** A topk in a range query that picks its series once, over the dashboard's range (mixin topkOverRange). */
    private static final Pattern HONEST_TOPK = Pattern.compile(
            "(?s)\\((.+)\\)\nand on \\(([^)]*)\\)\ntopk\\(\\d+, max_over_time\\(\\(\\1\\)\\[\\$__range:] @ end\\(\\)\\)\\)");
    private static final Pattern ALERT_NAME = Pattern.compile("\\bMemfd[A-Z][A-Za-z]+\\b");

    private static Dashboard dashboard() throws IOException {
        return Dashboard.read(Dashboard.SHIPPED);
    }

    @Test
    void isARecentSchemaWithDatasourceJobAndInstanceVariables() throws IOException {
        Dashboard dashboard = dashboard();
        assertTrue(dashboard.json().getInteger("schemaVersion") >= 39);
        JsonObject datasource = dashboard.variable("datasource");
        assertEquals("datasource", datasource.getString("type"));
        assertEquals("prometheus", datasource.getString("query"));
        assertEquals("label_values(memfd_exporter_build_info{job=\"memfd_exporter\"}, job)",
                dashboard.variable("job").getString("definition"));
        assertEquals("label_values(memfd_exporter_build_info{job=\"memfd_exporter\", job=~\"$job\"}, instance)",
                dashboard.variable("instance").getString("definition"));
        assertEquals("label_values(kube_pod_container_info{job=\"kube-state-metrics\"}, namespace)",
                dashboard.variable("namespace").getString("definition"));
        assertEquals("label_values(kube_pod_container_info{job=\"kube-state-metrics\", namespace=~\"$namespace\"}, pod)",
                dashboard.variable("pod").getString("definition"));
        assertEquals("label_values(kube_pod_container_info{job=\"kube-state-metrics\", namespace=~\"$namespace\", pod=~\"$pod\"}, container)",
                dashboard.variable("container").getString("definition"));
        assertEquals("label_values(memfd_create_calls_by_cgroup_total{job=\"memfd_exporter\", job=~\"$job\", instance=~\"$instance\"}, cgroup)",
                dashboard.variable("cgroup").getString("definition"));
        for (String name : List.of("namespace", "pod", "container", "cgroup")) {
            // Without kube-state-metrics the drill-down variables have no values: All must then match everything.
            assertEquals(".*", dashboard.variable(name).getString("allValue"), name);
            assertTrue(dashboard.variable(name).getBoolean("includeAll"), name);
        }
        for (String name : List.of("job", "instance", "namespace", "pod", "container", "cgroup")) {
            JsonObject variable = dashboard.variable(name);
            assertEquals("query", variable.getString("type"), name);
            assertEquals(variable.getString("definition"), variable.getJsonObject("query").getString("query"), name);
        }
    }

    /** Imported into any Grafana, every query goes to the data source the user picks. */
    @Test
    void noDatasourceIsHardCoded() throws IOException {
        List<Object> datasources = new java.util.ArrayList<>();
        collectDatasources(dashboard().json(), datasources);
        assertFalse(datasources.isEmpty());
        for (Object datasource : datasources) {
            assertEquals(DATASOURCE, datasource, "every datasource is ${datasource}");
        }
    }

    @Test
    void everyPanelHasADescriptionAUnitAndQueries() throws IOException {
        Set<Integer> ids = new HashSet<>();
        for (JsonObject panel : dashboard().panels()) {
            String title = panel.getString("title");
            assertTrue(ids.add(panel.getInteger("id")), title + ": panel ids are unique");
            JsonObject grid = panel.getJsonObject("gridPos");
            assertTrue(grid.getInteger("x") + grid.getInteger("w") <= 24, title + ": within the 24 columns");
            if ("row".equals(panel.getString("type"))) {
                continue;
            }
            assertFalse(panel.getString("description", "").isBlank(), title + ": has a description");
            assertFalse(panel.getJsonObject("fieldConfig").getJsonObject("defaults").getString("unit", "").isBlank(),
                    title + ": has a unit");
            assertFalse(panel.getJsonArray("targets", new JsonArray()).isEmpty(), title + ": has queries");
        }
    }

    /**
     * Every series selector filters on the job and instance variables, every
     * range is $__rate_interval, and nothing is read but exported or recorded series.
     */
    @Test
    void everyQueryFiltersOnJobAndInstanceAndUsesTheRateInterval() throws IOException {
        Set<String> known = new HashSet<>(MetricNames.exported());
        RuleFile.read(RuleFile.SHIPPED).recordings().forEach(recording -> known.add(recording.name()));
        List<Dashboard.Query> queries = dashboard().queries();
        assertFalse(queries.isEmpty());
        for (Dashboard.Query query : queries) {
            String expr = query.expr();
            String where = query.panel() + " " + query.refId() + ": " + expr;
            Matcher selector = MetricNames.SELECTOR.matcher(expr);
            String outsideSelectors = selector.replaceAll("");
            selector.reset();
            while (selector.find()) {
                String metric = selector.group(1);
                String matchers = selector.group(2);
                assertTrue(metric != null, where + ": every selector names its metric");
                if (metric.startsWith("kube_")) {
                    assertTrue(matchers.contains(KUBE_STATE_METRICS), where + ": selects kube-state-metrics");
                } else if (ALERT_SERIES.contains(metric)) {
                    // MemfdAlertRulesFailing is about a Prometheus, not an exporter: always shown.
                    assertTrue(matchers.contains("alertname=~\"Memfd.*\", job=~\"$job\", instance=~\"$instance|\"")
                                    || matchers.startsWith("alertname=\"MemfdAlertRulesFailing\""),
                            where + ": the memfd alerts of $job and $instance (or of no instance), or the failing rules");
                } else {
                    assertTrue(matchers.contains("job=~\"$job\""), where + ": filters on $job");
                    assertTrue(matchers.contains("instance=~\"$instance\""), where + ": filters on $instance");
                }
            }
            assertTrue(MetricNames.readBy(outsideSelectors).isEmpty() && !outsideSelectors.matches("(?s).*\\bup\\b.*"),
                    where + ": every metric has a selector");
            Matcher range = RANGE.matcher(expr);
            while (range.find()) {
                assertTrue(RANGES.contains(range.group()), where + ": " + range.group() + " is not one of " + RANGES);
            }
            for (String metric : MetricNames.readBy(expr)) {
                assertTrue(known.contains(metric), where + ": " + metric + " is neither exported nor recorded");
            }
        }
    }

    /**
     * A range query's topk draws at most its n series: the series are picked once over the
     * dashboard's range, not again at every step. A heatmap plots rate() of its buckets, not
     * increase() over $__rate_interval, which counts an event once per step its window covers.
     */
    @Test
    void topkInARangeQueryPicksItsSeriesOnceAndHeatmapsPlotRates() throws IOException {
        int honest = 0;
        for (JsonObject panel : dashboard().panels()) {
            for (Object target : panel.getJsonArray("targets", new JsonArray())) {
                JsonObject query = (JsonObject) target;
                String where = panel.getString("title") + ": " + query.getString("expr");
                if (query.getBoolean("range", false) && query.getString("expr").contains("topk(")) {
                    assertTrue(HONEST_TOPK.matcher(query.getString("expr")).matches(), where);
                    honest++;
                }
                if ("heatmap".equals(panel.getString("type"))) {
                    assertTrue(query.getString("expr").matches("sum by \\(le\\) \\(rate\\(\\w+_bucket\\{[^}]*}\\[\\$__rate_interval]\\)\\)"), where);
                }
            }
        }
        assertEquals(9, honest, "the top-10 graphs");
    }

    /** Every panel that names an alert links to the alert's section of the runbook, as its runbook_url does. */
    @Test
    void everyPanelNamingAnAlertLinksToItsRunbookSection() throws IOException {
        Map<String, String> runbookUrls = RuleFile.read(RuleFile.SHIPPED).alerts().stream()
                .collect(Collectors.toMap(RuleFile.Alert::name, alert -> alert.annotations().get("runbook_url"), (a, b) -> a));
        int links = 0;
        for (JsonObject panel : dashboard().panels()) {
            Set<String> linked = new HashSet<>();
            for (Object link : panel.getJsonArray("links", new JsonArray())) {
                linked.add(((JsonObject) link).getString("url"));
            }
            Matcher alert = ALERT_NAME.matcher(panel.getString("description", ""));
            while (alert.find()) {
                assertTrue(runbookUrls.containsKey(alert.group()), panel.getString("title") + ": " + alert.group() + " is an alert");
                assertTrue(linked.contains(runbookUrls.get(alert.group())),
                        panel.getString("title") + " names " + alert.group() + ": links to " + runbookUrls.get(alert.group()));
                links++;
            }
        }
        assertTrue(links >= 15, "panels link to the runbook: " + links);
    }

    /** What the on-call looks at first is open, not in a collapsed row; the live memory by instance among it. */
    @Test
    void whoIsDoingItAlertsAndLiveMemoryAreInOpenRows() throws IOException {
        List<String> open = dashboard().json().getJsonArray("panels").stream().map(JsonObject.class::cast)
                .filter(panel -> !panel.getBoolean("collapsed", false)).map(panel -> panel.getString("title")).toList();
        for (String title : List.of("Who is doing it", "Firing memfd alerts", "Who is doing it: processes",
                "Who is doing it: containers and cgroups", "Targets up / total", "Live memfd memory",
                "Allocated memfd memory by instance and comm (top 10)")) {
            assertTrue(open.contains(title), title + " is in an open row: " + open);
        }
        JsonObject annotation = dashboard().json().getJsonObject("annotations").getJsonArray("list").getJsonObject(0);
        assertEquals("ALERTS{alertname=~\"Memfd.*\", job=~\"$job\", instance=~\"$instance|\", alertstate=\"firing\"}"
                + " or ALERTS{alertname=\"MemfdAlertRulesFailing\", alertstate=\"firing\"}", annotation.getString("expr"));
        assertTrue(annotation.getBoolean("enable"));
    }

    private static void collectDatasources(Object node, List<Object> datasources) {
        if (node instanceof JsonObject object) {
            for (String key : object.fieldNames()) {
                if (key.equals("datasource")) {
                    datasources.add(object.getValue(key));
                } else {
                    collectDatasources(object.getValue(key), datasources);
                }
            }
        } else if (node instanceof JsonArray array) {
            array.forEach(element -> collectDatasources(element, datasources));
        }
    }
}
