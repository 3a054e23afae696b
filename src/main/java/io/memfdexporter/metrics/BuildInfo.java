package io.memfdexporter.metrics;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** What was built and what it runs on; the version comes from the Maven build. */
public record BuildInfo(String version, String libbpfVersion, String javaVersion) {

    /** The exporter's version as built by Maven ("unknown" when run from unpackaged classes). */
    public static String exporterVersion() {
        Properties properties = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/memfd_exporter.properties")) {
            if (in != null) {
                properties.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return properties.getProperty("version", "unknown");
    }

    public static BuildInfo current(String libbpfVersion) {
        return new BuildInfo(exporterVersion(), libbpfVersion, System.getProperty("java.version"));
    }
}
