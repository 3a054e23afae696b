package io.memfdexporter.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MetricFamilyTest {
    @Test
    void namesFollowThePrometheusNamingGuide() {
        for (MetricFamily family : MetricFamily.values()) {
            String name = family.exposedName();
            assertTrue(name.matches("memfd_[a-z0-9_]+"), name + ": snake case with our prefix");
            assertFalse(family.baseName().endsWith("_total"), name + ": client_java adds _total itself");
            if (family.type() == MetricFamily.Type.COUNTER) {
                assertTrue(name.endsWith("_total"), name);
            }
            for (String label : family.labels()) {
                assertTrue(label.matches("[a-z][a-z0-9_]*"), label);
            }
        }
    }
}
