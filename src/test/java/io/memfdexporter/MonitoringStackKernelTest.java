package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.metrics.MetricFamily;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Dashboard;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.MetricNames;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.RuleFile;
import io.memfdexporter.testing.ServerProcess;
import io.memfdexporter.testing.TestLibC;
import io.memfdexporter.testing.Tool;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The shipped rules and dashboard against the real monitoring stack: the
 * exporter in this JVM, a real Prometheus (Debian's /usr/bin/prometheus)
 * scraping it every second and evaluating alerts/memfd_exporter.rules.yml, a
 * real Alertmanager routing to a webhook in this test. Real memfd activity
 * makes the alerts fire; they must reach Prometheus's alerts and the webhook.
 * The rules are the shipped file with every {@code for:} set to 0s, nothing
 * else changed.
 */
@ExtendWith(RequiresBpf.class)
class MonitoringStackKernelTest {
    private static final String JOB = "memfd_exporter";
    /** $__rate_interval as Grafana computes it for a 1 s scrape interval: at least four scrapes. */
    private static final String RATE_INTERVAL = "4s";
    private static final Duration ALERTS_TIMEOUT = Duration.ofSeconds(90);
    /** The activities run on threads of their own (the common pool may have a single thread). */
    private static final Executor NEW_THREAD = task -> new Thread(task, "monitoring-activity").start();
    /**
     * Per-comm map capacity of the exporter under test. Other tests on this host may create
     * thousands of distinct comms while this one runs; this test's comms take their keys within
     * milliseconds of the start, and the room left keeps that true however busy the host is.
     */
    private static final int MAX_COMMS = 65536;
    /** memfd_create calls per 100 ms by the flood thread: 20,000 a second, 5 times the burst threshold. */
    private static final int FLOOD_CALLS_PER_TICK = 2000;
    /** Fails memfd_create with EMFILE 500 times a second until the file named STOP exists (50 s at most). */
    private static final String EMFILE_SCRIPT = """
            import errno, os, resource, time
            resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
            held = []
            def fails_with_emfile():
                try:
                    held.append(os.memfd_create('x'))
                    return False
                except OSError as e:
                    if e.errno != errno.EMFILE: raise
                    return True
            while not fails_with_emfile(): pass
            deadline = time.monotonic() + 50
            while not os.path.exists(STOP) and time.monotonic() < deadline:
                for _ in range(50):
                    if not fails_with_emfile(): raise SystemExit('memfd_create succeeded beyond RLIMIT_NOFILE')
                time.sleep(0.1)
            """;

    /** An alert this test makes fire, identified by labels only this test's activity carries. */
    private record Expected(String alertname, Map<String, String> labels) {
        boolean matches(JsonObject alertLabels) {
            return alertname.equals(alertLabels.getString("alertname"))
                    && labels.entrySet().stream().allMatch(label -> label.getValue().equals(alertLabels.getString(label.getKey())));
        }
    }

    @Test
    void shippedAlertsFireThroughAlertmanagerAndEveryMetricAndPanelQueryHasData(@TempDir Path work) throws Exception {
        long start = System.nanoTime();
        List<String> timings = new ArrayList<>();
        String floodComm = uniqueComm("mfdflood");
        String emfileComm = uniqueComm("mfdemfile");
        Path stop = work.resolve("stop-activity");
        List<CompletableFuture<Void>> activities = new ArrayList<>();
        // A second exporter whose per-comm maps hold one comm: every other comm's calls are unrecorded.
        Exporter tiny = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)).withMaxComms(1));
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0))
                .withMaxComms(MAX_COMMS));
             Webhook webhook = Webhook.start()) {
            String instance = "127.0.0.1:" + exporter.port();
            String tinyInstance = "127.0.0.1:" + tiny.port();
            // The activity, started before Prometheus so that its comms are in the maps at once: a flood
            // from one thread (MemfdCreateFlood; MemfdCreateBurst, this JVM being the process;
            // MemfdCreateUnrecorded on the tiny exporter) and EMFILE failures from python3.
            activities.add(CompletableFuture.runAsync(() -> CommThreads.runAs(floodComm, () -> floodUntil(stop)), NEW_THREAD));
            activities.add(CompletableFuture.runAsync(() -> runPython(emfileComm,
                    "STOP = '" + stop + "'\n" + EMFILE_SCRIPT), NEW_THREAD));
            List<Expected> expected = List.of(
                    new Expected("MemfdCreateFlood", Map.of("instance", instance, "comm", floodComm)),
                    new Expected("MemfdCreateBurst", Map.of("instance", instance)),
                    new Expected("MemfdCreateFailures", Map.of("instance", instance, "comm", emfileComm, "errno", "EMFILE")),
                    new Expected("MemfdCreateUnrecorded", Map.of("instance", tinyInstance, "map", "calls_by_comm")));

            try (ServerProcess alertmanager = startAlertmanager(work, webhook.port());
                 ServerProcess prometheus = startPrometheus(work, alertmanager.port(), exporter.port(), tiny.port())) {
                Prometheus api = new Prometheus(prometheus.port());
                Supplier<String> logs = () -> prometheus.logTail() + "\n" + alertmanager.logTail();
                timings.add(lap(start, "Prometheus and Alertmanager ready"));
                for (String target : List.of(instance, tinyInstance)) {
                    waitFor(Duration.ofSeconds(30), () -> !api.query("up{job=\"" + JOB + "\",instance=\"" + target + "\"} == 1").isEmpty(),
                            () -> target + " is not up in Prometheus\n" + logs.get());
                }
                timings.add(lap(start, "both targets up"));

                waitForAlerts(api, webhook, expected, logs);
                timings.add(lap(start, "flood, burst, failures and unrecorded alerts at the webhook"));
                assertTrue(api.rules().stream().allMatch(rule -> "ok".equals(rule.getString("health"))),
                        "every rule evaluates without error: " + api.rules());
                assertEveryMetricFamilyIsInPrometheus(api, instance);
                assertEveryDashboardQueryReturnsData(api, instance);
                timings.add(lap(start, "metric families and dashboard queries checked"));

                Files.createFile(stop);
                for (CompletableFuture<Void> activity : activities) {
                    activity.get(60, TimeUnit.SECONDS);
                }
                tiny.close();
                tiny = null;
                waitForAlerts(api, webhook, List.of(new Expected("MemfdExporterDown", Map.of("instance", tinyInstance))), logs);
                timings.add(lap(start, "down alert at the webhook once the tiny exporter stopped"));
            }
        } finally {
            if (!Files.exists(stop)) {
                Files.createFile(stop);
            }
            if (tiny != null) {
                tiny.close();
            }
            for (CompletableFuture<Void> activity : activities) {
                activity.exceptionally(failure -> null).get(60, TimeUnit.SECONDS);
            }
            System.out.println("MonitoringStackKernelTest timings (s since start): " + String.join("; ", timings)
                    + "; total " + seconds(start));
        }
    }

    /** Families that appear only after some activity (per-comm, failures) appear after this test's. */
    private static void assertEveryMetricFamilyIsInPrometheus(Prometheus api, String instance) {
        Set<String> present = new TreeSet<>();
        api.query("group by (__name__) ({job=\"" + JOB + "\",instance=\"" + instance + "\"})")
                .forEach(sample -> present.add(((JsonObject) sample).getJsonObject("metric").getString("__name__")));
        for (MetricFamily family : MetricFamily.values()) {
            for (String name : MetricNames.of(family)) {
                assertTrue(present.contains(name), name + " is not in Prometheus; there: " + present);
            }
        }
    }

    /** Every panel's every query, and the variables' label_values queries, as Grafana would send them. */
    private static void assertEveryDashboardQueryReturnsData(Prometheus api, String instance) throws IOException {
        Dashboard dashboard = Dashboard.read(Dashboard.SHIPPED);
        Map<String, String> variables = Map.of("job", JOB, "instance", instance, "__rate_interval", RATE_INTERVAL);
        List<String> empty = new ArrayList<>();
        for (Dashboard.Query query : dashboard.queries()) {
            String expr = query.substitute(variables);
            if (api.query(expr).isEmpty()) {
                empty.add(query.panel() + " " + query.refId() + ": " + expr);
            }
        }
        assertTrue(empty.isEmpty(), "dashboard queries without data:\n" + String.join("\n", empty));

        Pattern labelValues = Pattern.compile("label_values\\((.+), *(\\w+)\\)");
        for (String name : List.of("job", "instance")) {
            Matcher definition = labelValues.matcher(dashboard.variable(name).getString("definition"));
            assertTrue(definition.matches(), name);
            assertTrue(api.labelValues(definition.group(2), Dashboard.substitute(definition.group(1), variables))
                            .contains(variables.get(name)),
                    "variable " + name + " offers " + variables.get(name));
        }
    }

    private static void waitForAlerts(Prometheus api, Webhook webhook, List<Expected> expected, Supplier<String> logs)
            throws InterruptedException {
        waitFor(ALERTS_TIMEOUT, () -> expected.stream().allMatch(alert ->
                        api.firingAlerts().stream().anyMatch(alert::matches) && webhook.received(alert)),
                () -> "expected " + expected + "\nfiring in Prometheus: " + api.firingAlerts()
                        + "\nat the webhook: " + webhook.alerts + "\n" + logs.get());
    }

    private static void waitFor(Duration timeout, BooleanSupplier condition, Supplier<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + failure.get());
            }
            Thread.sleep(250);
        }
    }

    private static void floodUntil(Path stop) {
        long tick = TimeUnit.MILLISECONDS.toNanos(100);
        long next = System.nanoTime();
        while (!Files.exists(stop)) {
            CommThreads.calls(FLOOD_CALLS_PER_TICK, TestLibC.MFD_CLOEXEC).run();
            next += tick;
            LockSupport.parkNanos(next - System.nanoTime());
        }
    }

    private static void runPython(String comm, String script) {
        try {
            Python.named(comm).run(script);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static ServerProcess startAlertmanager(Path work, int webhookPort) throws IOException, InterruptedException {
        int port = ServerProcess.freePort();
        Path config = Files.writeString(work.resolve("alertmanager.yml"), """
                route:
                  receiver: webhook
                  group_by: ['...']
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: webhook
                    webhook_configs:
                      - url: http://127.0.0.1:%d/
                        send_resolved: false
                """.formatted(webhookPort));
        return ServerProcess.start("alertmanager", List.of(Tool.ALERTMANAGER.path().toString(),
                "--config.file=" + config, "--storage.path=" + work.resolve("alertmanager-data"),
                "--web.listen-address=127.0.0.1:" + port, "--cluster.listen-address="),
                work.resolve("alertmanager.log"), port, "/-/ready");
    }

    private static ServerProcess startPrometheus(Path work, int alertmanagerPort, int... exporterPorts)
            throws IOException, InterruptedException {
        int port = ServerProcess.freePort();
        Path rules = work.resolve("memfd_exporter.rules.yml");
        RuleFile.copyWithFor(RuleFile.SHIPPED, "0s", rules);
        List<String> targets = Arrays.stream(exporterPorts).mapToObj(p -> "'127.0.0.1:" + p + "'").toList();
        Path config = Files.writeString(work.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                  - %s
                alerting:
                  alertmanagers:
                    - static_configs:
                        - targets: ['127.0.0.1:%d']
                scrape_configs:
                  - job_name: %s
                    static_configs:
                      - targets: [%s]
                """.formatted(rules, alertmanagerPort, JOB, String.join(", ", targets)));
        return ServerProcess.start("prometheus", List.of(Tool.PROMETHEUS.path().toString(),
                "--config.file=" + config, "--storage.tsdb.path=" + work.resolve("prometheus-data"),
                "--web.listen-address=127.0.0.1:" + port), work.resolve("prometheus.log"), port, "/-/ready");
    }

    /** Prometheus's HTTP API. */
    private record Prometheus(int port) {
        JsonArray query(String promql) {
            return get("/api/v1/query?query=" + encode(promql)).getJsonObject("data").getJsonArray("result");
        }

        List<JsonObject> firingAlerts() {
            return get("/api/v1/alerts").getJsonObject("data").getJsonArray("alerts").stream().map(JsonObject.class::cast)
                    .filter(alert -> "firing".equals(alert.getString("state")))
                    .map(alert -> alert.getJsonObject("labels")).toList();
        }

        List<JsonObject> rules() {
            List<JsonObject> rules = new ArrayList<>();
            for (Object group : get("/api/v1/rules").getJsonObject("data").getJsonArray("groups")) {
                ((JsonObject) group).getJsonArray("rules").forEach(rule -> rules.add((JsonObject) rule));
            }
            return rules;
        }

        List<String> labelValues(String label, String match) {
            return get("/api/v1/label/" + label + "/values?match[]=" + encode(match)).getJsonArray("data")
                    .stream().map(String.class::cast).toList();
        }

        /** The response of a successful call: status, and its data. */
        private JsonObject get(String pathAndQuery) {
            HttpResponse<byte[]> response = Http.get(port, pathAndQuery, null);
            JsonObject body = new JsonObject(new String(response.body(), StandardCharsets.UTF_8));
            assertEquals(200, response.statusCode(), pathAndQuery + ": " + body);
            assertEquals("success", body.getString("status"), pathAndQuery + ": " + body);
            return body;
        }

        private static String encode(String value) {
            return URLEncoder.encode(value, StandardCharsets.UTF_8);
        }
    }

    /** Alertmanager's webhook receiver: keeps every alert it is sent. */
    private static final class Webhook implements AutoCloseable {
        private final HttpServer server;
        private final List<JsonObject> alerts = new CopyOnWriteArrayList<>();

        private Webhook(HttpServer server) {
            this.server = server;
        }

        static Webhook start() throws IOException {
            Webhook webhook = new Webhook(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0));
            webhook.server.createContext("/", exchange -> {
                try (InputStream body = exchange.getRequestBody()) {
                    JsonObject notification = new JsonObject(new String(body.readAllBytes(), StandardCharsets.UTF_8));
                    notification.getJsonArray("alerts").forEach(alert -> webhook.alerts.add((JsonObject) alert));
                    exchange.sendResponseHeaders(200, -1);
                } finally {
                    exchange.close();
                }
            });
            webhook.server.start();
            return webhook;
        }

        int port() {
            return server.getAddress().getPort();
        }

        boolean received(Expected expected) {
            return alerts.stream().anyMatch(alert -> "firing".equals(alert.getString("status"))
                    && expected.matches(alert.getJsonObject("labels")));
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    private static String lap(long start, String what) {
        return what + " " + seconds(start);
    }

    private static String seconds(long start) {
        return String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9);
    }
}
