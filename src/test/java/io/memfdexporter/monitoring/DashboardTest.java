package io.memfdexporter.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
        for (String name : List.of("job", "instance")) {
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
                assertTrue(selector.group(1) != null, where + ": every selector names its metric");
                assertTrue(selector.group(2).contains("job=~\"$job\""), where + ": filters on $job");
                assertTrue(selector.group(2).contains("instance=~\"$instance\""), where + ": filters on $instance");
            }
            assertTrue(MetricNames.readBy(outsideSelectors).isEmpty() && !outsideSelectors.matches("(?s).*\\bup\\b.*"),
                    where + ": every metric has a selector");
            Matcher range = RANGE.matcher(expr);
            while (range.find()) {
                assertEquals("[$__rate_interval]", range.group(), where);
            }
            for (String metric : MetricNames.readBy(expr)) {
                assertTrue(known.contains(metric), where + ": " + metric + " is neither exported nor recorded");
            }
        }
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
