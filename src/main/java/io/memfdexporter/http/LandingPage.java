package io.memfdexporter.http;

/** The plain HTML page at {@code /}, as node_exporter serves one. */
final class LandingPage {
    private LandingPage() {
    }

    static String html(String version, String telemetryPath) {
        String path = escape(telemetryPath);
        return """
                <!DOCTYPE html>
                <html lang="en">
                <head><meta charset="utf-8"><title>memfd_exporter</title></head>
                <body>
                <h1>memfd_exporter</h1>
                <p>Prometheus exporter for memfd_create(2) calls, counted in the kernel by eBPF tracepoints. Version %s.</p>
                <ul>
                <li><a href="%s">Metrics</a> (%s)</li>
                <li><a href="%s">Health</a></li>
                </ul>
                </body>
                </html>
                """.formatted(escape(version), path, path, MetricsServer.HEALTH_PATH);
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
