package io.memfdexporter.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.memfdexporter.testing.Markdown;
import io.memfdexporter.testing.MetricNames;
import io.memfdexporter.testing.RuleFile;
import io.memfdexporter.testing.Tool;

/**
 * The shipped alerting and recording rules: promtool accepts them and their
 * unit tests pass, every alert has a test where it fires and one where it stays
 * silent, and every alert is labelled, annotated and documented alike.
 */
class AlertRulesTest {
    private static final Path ALERTS = Path.of("alerts");
    private static final Path TESTS = ALERTS.resolve("tests");
    private static final Path EXAMPLE_OVERRIDES = ALERTS.resolve("examples").resolve("thresholds.yml");
    private static final Path RUNBOOK = Path.of("docs", "runbook.md");
    private static final Set<String> SEVERITIES = Set.of("critical", "warning", "info");
    private static final Pattern SEVERITY_TEMPLATE =
            Pattern.compile("\\{\\{ if eq \\$labels\\.\\w+ \"\\w+\" }}(\\w+)\\{\\{ else }}(\\w+)\\{\\{ end }}");
    /** Alerts that are silent on a quiet host are listed in this promtool test, every one of them. */
    private static final Path QUIET_HOST = TESTS.resolve("quiet_host.yml");

    private static List<RuleFile.Alert> alerts() throws IOException {
        return RuleFile.read(RuleFile.SHIPPED).alerts();
    }

    @Test
    void promtoolAcceptsTheRulesAndTheExampleOverrides() throws Exception {
        Tool.Result result = Tool.PROMTOOL.run("check", "rules", RuleFile.SHIPPED.toString(),
                EXAMPLE_OVERRIDES.toString());
        assertEquals(0, result.exitCode(), result.output());
    }

    /** One promtool run per file: each gets the tool's time limit, which all of them together exceed on a busy host. */
    @Test
    void promtoolUnitTestsPass() throws Exception {
        List<String> failures = new ArrayList<>();
        for (Path file : testFiles()) {
            Tool.Result result = Tool.PROMTOOL.run("test", "rules", file.toString());
            if (result.exitCode() != 0) {
                failures.add(result.output());
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void everyAlertHasATestWhereItFiresAndOneWhereItStaysSilent() throws IOException {
        Set<String> firing = new TreeSet<>();
        Set<String> silent = new TreeSet<>();
        for (Path file : testFiles()) {
            for (Map<String, Object> alertTest : alertRuleTests(file)) {
                List<?> expected = (List<?>) alertTest.get("exp_alerts");
                (expected == null || expected.isEmpty() ? silent : firing).add((String) alertTest.get("alertname"));
            }
        }
        for (RuleFile.Alert alert : alerts()) {
            assertTrue(firing.contains(alert.name()), alert.name() + ": no promtool test in " + TESTS + " where it fires");
            assertTrue(silent.contains(alert.name()), alert.name() + ": no promtool test in " + TESTS + " where it stays silent");
        }
        Set<String> unknown = new TreeSet<>(firing);
        unknown.addAll(silent);
        unknown.removeAll(alerts().stream().map(RuleFile.Alert::name).toList());
        assertTrue(unknown.isEmpty(), "tests of alerts that do not exist: " + unknown);
    }

    @Test
    void everyAlertStaysSilentOnQuietHosts() throws IOException {
        List<Map<String, Object>> quietTests = tests(QUIET_HOST);
        assertFalse(quietTests.isEmpty());
        for (Map<String, Object> quietTest : quietTests) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> alertTests = (List<Map<String, Object>>) quietTest.get("alert_rule_test");
            Set<String> silent = new TreeSet<>();
            alertTests.forEach(alertTest -> silent.add((String) alertTest.get("alertname")));
            for (RuleFile.Alert alert : alerts()) {
                assertTrue(silent.contains(alert.name()), quietTest.get("name") + " must check " + alert.name());
            }
        }
    }

    @Test
    void everyAlertIsNamedLabelledAndAnnotatedAlike() throws IOException {
        for (RuleFile.Alert alert : alerts()) {
            String name = alert.name();
            assertTrue(name.matches("Memfd[A-Z][A-Za-z]+"), name + ": Memfd prefix, CamelCase");
            assertTrue(alert.forDuration() != null && alert.forDuration().matches("\\d+[smh]"), name + ": for: is set");
            assertTrue(severities(alert.labels().get("severity")).stream().allMatch(SEVERITIES::contains),
                    name + ": severity is one of " + SEVERITIES + ", or a template choosing between them");
            assertEquals(Set.of("summary", "description", "runbook_url"), alert.annotations().keySet(), name);
            assertTrue(alert.annotations().get("description").contains("$labels."), name + ": the description names the series");
        }
    }

    /**
     * The severities a severity label can take: itself, or both outcomes of a
     * template {@code {{ if eq $labels.L "V" }}A{{ else }}B{{ end }}} that sets it by another label.
     */
    private static List<String> severities(String label) {
        Matcher template = SEVERITY_TEMPLATE.matcher(label);
        return template.matches() ? List.of(template.group(1), template.group(2)) : List.of(label);
    }

    /**
     * runbook_url is absolute (a pager or Alertmanager opens it as it is), points at this
     * repository's runbook, and each alert has a section of its own name there.
     */
    @Test
    void everyRunbookUrlPointsAtTheAlertsSectionOfTheRunbook() throws IOException {
        Set<String> anchors = Markdown.anchors(RUNBOOK);
        for (RuleFile.Alert alert : alerts()) {
            String url = alert.annotations().get("runbook_url");
            URI uri = URI.create(url);
            assertEquals("https", uri.getScheme(), url);
            assertTrue(uri.getPath().endsWith("/" + RUNBOOK), url);
            assertEquals(alert.name().toLowerCase(java.util.Locale.ROOT), uri.getFragment(), alert.name());
            assertTrue(anchors.contains(uri.getFragment()), url + ": no such section in " + RUNBOOK);
        }
    }

    /** Expressions use the exporter's own series (MetricFamily) and series recorded in these rules only. */
    @Test
    void rulesReadOnlyMetricsTheExporterExportsOrTheRulesRecord() throws IOException {
        RuleFile rules = RuleFile.read(RuleFile.SHIPPED);
        Set<String> known = new HashSet<>(MetricNames.exported());
        rules.recordings().forEach(recording -> known.add(recording.name()));
        List<String> expressions = new ArrayList<>(rules.alerts().stream().map(RuleFile.Alert::expr).toList());
        expressions.addAll(rules.recordings().stream().map(RuleFile.Recording::expr).toList());
        for (String expr : expressions) {
            for (String metric : MetricNames.readBy(expr)) {
                assertTrue(known.contains(metric), metric + " in " + expr + " is neither exported nor recorded");
            }
        }
    }

    /** A threshold whose le label selects a histogram bucket (burst, huge size) says the same number as its value. */
    @Test
    void bucketThresholdsValuesAreTheirBucketBounds() throws IOException {
        List<RuleFile.Recording> bucketThresholds = RuleFile.read(RuleFile.SHIPPED).recordings().stream()
                .filter(recording -> recording.name().startsWith("memfd_exporter:alert_threshold:")
                        && recording.labels().containsKey("le"))
                .toList();
        assertEquals(Set.of("memfd_exporter:alert_threshold:burst_calls_per_second",
                        "memfd_exporter:alert_threshold:requested_size_bytes"),
                bucketThresholds.stream().map(RuleFile.Recording::name).collect(Collectors.toSet()));
        for (RuleFile.Recording threshold : bucketThresholds) {
            Matcher value = Pattern.compile("vector\\(([0-9.]+)\\)").matcher(threshold.expr());
            assertTrue(value.matches(), threshold.expr());
            assertEquals(Double.parseDouble(value.group(1)), Double.parseDouble(threshold.labels().get("le")), threshold.name());
        }
    }

    private static List<Path> testFiles() throws IOException {
        try (Stream<Path> files = Files.list(TESTS)) {
            List<Path> yaml = files.filter(file -> file.toString().endsWith(".yml")).sorted().toList();
            assertFalse(yaml.isEmpty(), "no promtool tests in " + TESTS);
            return yaml;
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> tests(Path file) throws IOException {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Map<String, Object> document = RuleFile.yaml().load(reader);
            return (List<Map<String, Object>>) document.get("tests");
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> alertRuleTests(Path file) throws IOException {
        List<Map<String, Object>> alertTests = new ArrayList<>();
        for (Map<String, Object> test : tests(file)) {
            alertTests.addAll((List<Map<String, Object>>) test.getOrDefault("alert_rule_test", List.of()));
        }
        return alertTests;
    }
}
