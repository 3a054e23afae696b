package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class MetricFamilyTest {
    @Test
    void namesFollowThePrometheusNamingGuide() {
        for (MetricFamily family : MetricFamily.values()) {
            String name = family.exposedName();
            assertTrue(name.matches("(memfd_create|memfd_exec|memfd_exporter)_[a-z0-9_]+"), name + ": snake case with our prefix");
            assertFalse(family.baseName().endsWith("_total"), name + ": client_java adds _total itself");
            if (family.type() == MetricFamily.Type.COUNTER) {
                assertTrue(name.endsWith("_total"), name);
            }
            for (String label : family.labels()) {
                assertTrue(label.matches("[a-z][a-z0-9_]*"), label);
            }
        }
    }

    @Test
    void readmeMetricsTableIsGeneratedFromTheDefinitions() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        String table = MetricFamily.markdownTable();
        assertTrue(readme.contains(table), "README.md's metrics table must be exactly:\n" + table);
        assertEquals(readme.indexOf("| Metric | Type |"), readme.lastIndexOf("| Metric | Type |"), "one metrics table");
    }
}
