package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.security.crypto.bcrypt.BCrypt;

import io.memfdexporter.testing.ChildExporter;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.LoopbackClient;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.TestCertificates;
import io.memfdexporter.testing.TestLibC;

/**
 * The real command with --web.config.file, over real TLS connections: client
 * certificates, basic auth, headers, protocol versions, and plain HTTP sent to
 * the TLS port. Certificates are made by the test; the exporter drops its
 * privileges as by default, so all of this also holds after the drop.
 */
@ExtendWith(RequiresBpf.class)
class WebSecurityKernelTest {
    private static final String USER = "prometheus";
    private static final String PASSWORD = "correct horse battery staple";
    /* Cost 10, as docs/http.md suggests: 50-100 ms per check here. */
    private static final String HASH = BCrypt.hashpw(PASSWORD, BCrypt.gensalt(10));

    @TempDir
    static Path dir;
    private static TestCertificates certificates;
    private static ChildExporter exporter;

    @BeforeAll
    static void start() throws Exception {
        certificates = TestCertificates.writeTo(dir);
        Path config = Files.writeString(dir.resolve("web.yml"), """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  client_auth_type: RequireAndVerifyClientCert
                  client_ca_file: ca.pem
                http_server_config:
                  headers:
                    X-Content-Type-Options: nosniff
                    Strict-Transport-Security: max-age=31536000
                basic_auth_users:
                  %s: %s
                """.formatted(USER, HASH));
        exporter = ChildExporter.start(List.of(), "--web.listen-address=127.0.0.1:0", "--web.config.file=" + config);
    }

    @AfterAll
    static void stop() {
        if (exporter != null) {
            exporter.close();
        }
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static HttpResponse<String> get(HttpClient client, int port, String path, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).header("Accept", Http.TEXT);
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String path, String authorization) throws Exception {
        return get(certificates.client(certificates.client()), exporter.port(), path, authorization);
    }

    @Test
    void theRightPasswordAndClientCertificateGetExactCountsAndTheConfiguredHeaders() throws Exception {
        String comm = uniqueComm("mfdtls");
        CommThreads.runAs(comm, calls(57, TestLibC.MFD_CLOEXEC));
        for (int scrape = 0; scrape < 2; scrape++) { // the second one passes on the remembered password
            HttpResponse<String> response = get("/metrics", basic(USER, PASSWORD));
            assertEquals(200, response.statusCode(), response.body());
            assertEquals(57, Exposition.parse(response.body()).value("memfd_create_calls_total", "comm", comm));
            assertEquals("nosniff", response.headers().firstValue("X-Content-Type-Options").orElseThrow());
            assertEquals("max-age=31536000", response.headers().firstValue("Strict-Transport-Security").orElseThrow());
        }
    }

    @Test
    void missingWrongOrMalformedCredentialsGet401WithABasicChallengeAndNoMetrics() throws Exception {
        String[] refused = {null, basic(USER, "wrong"), basic("root", PASSWORD), basic(USER, ""), "Basic !!!",
            "Basic " + Base64.getEncoder().encodeToString(USER.getBytes(StandardCharsets.UTF_8)), "Bearer " + PASSWORD};
        for (String authorization : refused) {
            HttpResponse<String> response = get("/metrics", authorization);
            assertEquals(401, response.statusCode(), String.valueOf(authorization));
            assertEquals("Basic realm=\"memfd_exporter\", charset=\"UTF-8\"",
                    response.headers().firstValue("WWW-Authenticate").orElseThrow());
            assertEquals("nosniff", response.headers().firstValue("X-Content-Type-Options").orElseThrow());
            assertFalse(response.body().contains("memfd_create"), response.body());
        }
    }

    @Test
    void theLandingPageAndUnknownPathsNeedCredentialsToo() throws Exception {
        assertEquals(401, get("/", null).statusCode());
        HttpResponse<String> landing = get("/", basic(USER, PASSWORD));
        assertEquals(200, landing.statusCode());
        assertTrue(landing.body().contains("<h1>memfd_exporter</h1>"), landing.body());
        assertEquals(401, get("/nothing-here", null).statusCode(), "no hint which paths exist");
        assertEquals(404, get("/nothing-here", basic(USER, PASSWORD)).statusCode());
    }

    @Test
    void theHealthCheckNeedsNoPasswordButStillTheClientCertificate() throws Exception {
        HttpResponse<String> health = get("/-/healthy", null);
        assertEquals(200, health.statusCode());
        assertEquals("Healthy\n", health.body());
        handshakeFailure(() -> get(certificates.client(null), exporter.port(), "/-/healthy", null));
    }

    @Test
    void withoutAClientCertificateFromTheConfiguredCaTheHandshakeFails() {
        for (TestCertificates.Identity identity : new TestCertificates.Identity[] {null, certificates.rogueClient()}) {
            handshakeFailure(() -> get(certificates.client(identity), exporter.port(), "/metrics", basic(USER, PASSWORD)));
        }
    }

    @Test
    void plainHttpToTheTlsPortIsClosedWithoutMetricsAndTheServerGoesOn() throws Exception {
        for (int attempt = 0; attempt < 3; attempt++) {
            byte[] answer = new byte[0];
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), exporter.port())) {
                socket.setSoTimeout(15_000); // a hang fails the test with SocketTimeoutException
                socket.getOutputStream().write(("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                        + basic(USER, PASSWORD) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                answer = readUntilClosed(socket.getInputStream());
            } catch (SocketException reset) {
                // a reset is a clean refusal too
            }
            String text = new String(answer, StandardCharsets.ISO_8859_1);
            assertFalse(text.startsWith("HTTP/"), text);
            assertFalse(text.contains("memfd_create"), text);
        }
        assertEquals(200, get("/metrics", basic(USER, PASSWORD)).statusCode());
    }

    @Test
    void minVersionTls13RefusesATls12OnlyClient() throws Exception {
        Path config = Files.writeString(dir.resolve("tls13.yml"), """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  min_version: TLS13
                """);
        try (ChildExporter tls13 = ChildExporter.start(List.of(), "--web.listen-address=127.0.0.1:0",
                "--web.config.file=" + config)) {
            SSLHandshakeException refused = handshakeFailure(
                    () -> get(certificates.client(null, "TLSv1.2"), tls13.port(), "/metrics", null));
            assertTrue(refused.getMessage().contains("protocol_version"), refused.toString());
            assertEquals(200, get(certificates.client(null, "TLSv1.3"), tls13.port(), "/metrics", null).statusCode());
        }
        // The same TLS 1.2 client is fine where TLS 1.2 is allowed (the default minimum).
        assertEquals(200, get(certificates.client(certificates.client(), "TLSv1.2"), exporter.port(), "/metrics",
                basic(USER, PASSWORD)).statusCode());
    }

    @Test
    void aScraperVerifiedBeforeAWrongPasswordFloodGets200AtEveryScrape() throws Exception {
        try (ChildExporter plain = plainHttpExporter("verified")) {
            assertEquals(200, scrapeFrom(LEGITIMATE, plain.port()).status(), "verified once, by bcrypt");
            try (Flood flood = Flood.start(plain.port(), FLOOD_SOURCES)) {
                List<Scrape> scrapes = scrapeOncePerSecond(LEGITIMATE, plain.port(), LEGITIMATE_SCRAPES);
                assertLegitimateScrapes("verified before the flood", scrapes, flood.stop());
            }
        }
    }

    @Test
    void aScraperNeverVerifiedGets200FromItsFirstScrapeWhileOtherAddressesFlood() throws Exception {
        try (ChildExporter plain = plainHttpExporter("newcomer")) {
            try (Flood flood = Flood.start(plain.port(), FLOOD_SOURCES)) {
                Thread.sleep(1_000); // the flood fills whatever queue there is before the scraper's first request
                List<Scrape> scrapes = scrapeOncePerSecond(LEGITIMATE, plain.port(), LEGITIMATE_SCRAPES);
                assertLegitimateScrapes("never verified before the flood", scrapes, flood.stop());
            }
        }
    }

    @Test
    void aBcryptCostThatCannotBeCheckedInTimeStopsTheExporterAtStartup() throws Exception {
        // Cost 31: 2^31 rounds, days per check. Hashing one would take as long, so the hash is written by hand.
        String cost31 = "$2y$31$" + HASH.substring(7);
        Path config = Files.writeString(dir.resolve("cost31.yml"), "basic_auth_users: {" + USER + ": '" + cost31 + "'}\n");
        long start = System.nanoTime();
        ChildExporter.Exit exit = ChildExporter.runToExit(List.of(), "--web.listen-address=127.0.0.1:0",
                "--web.config.file=" + config);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(1, exit.code(), exit.stderr());
        assertEquals(1, exit.stderrLines().size(), exit.stderr());
        assertTrue(exit.stderr().matches("memfd_exporter: --web\\.config\\.file \\S+cost31\\.yml: basic_auth_users\\."
                + USER + " has bcrypt cost 31: one check would take about \\d+ (h|days) on this machine, more than the 1\\.0 s"
                + " allowed \\(checks run one at a time and Prometheus gives up a scrape after 10 s by default\\);"
                + " use cost 1[0-9] or less, e\\.g\\. htpasswd -nBC 10 \"\" \\| tr -d ':\\\\n'\n"), exit.stderr());
        System.out.printf("basic auth, cost 31: exit %d after %d ms: %s", exit.code(), millis, exit.stderr());
    }

    @Test
    void anUnknownUserCostsTheBcryptThreadWhatAWrongPasswordOfAKnownUserCosts() throws Exception {
        int port = exporter.port();
        HttpClient client = certificates.client(certificates.client());
        assertEquals(200, get(client, port, "/metrics", basic(USER, PASSWORD)).statusCode());
        long[] ticks = new long[3];
        String[] users = {USER, "nobody", USER};
        String[] passwords = {"wrong", PASSWORD + "!", PASSWORD};
        int[] expected = {401, 401, 200};
        for (int kind = 0; kind < 3; kind++) {
            long before = bcryptThreadTicks(exporter.pid());
            for (int i = 0; i < 8; i++) {
                String password = kind == 2 ? passwords[kind] : passwords[kind] + i;
                assertEquals(expected[kind], get(client, port, "/metrics", basic(users[kind], password)).statusCode());
            }
            ticks[kind] = bcryptThreadTicks(exporter.pid()) - before;
        }
        System.out.printf("basic auth, CPU ticks of the bcrypt thread for 8 requests: known user %d, unknown user %d,"
                + " verified password %d%n", ticks[0], ticks[1], ticks[2]);
        // 8 cost-10 checks take ~50 ticks of 10 ms; the two kinds differ by scheduling noise only.
        assertTrue(ticks[0] >= 8 && ticks[1] >= 8, "bcrypt ran for every wrong password: " + Arrays.toString(ticks));
        assertTrue(Math.abs(ticks[0] - ticks[1]) <= Math.max(ticks[0], ticks[1]) / 4, Arrays.toString(ticks));
        assertTrue(ticks[2] <= 1, "a verified password runs no bcrypt: " + Arrays.toString(ticks));
    }

    /** utime + stime, in clock ticks, of the exporter's bcrypt thread (memfd-bcrypt-0); 0 before it exists. */
    private static long bcryptThreadTicks(long pid) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                if (Files.readString(task.resolve("comm")).strip().equals("memfd-bcrypt-0")) {
                    String stat = Files.readString(task.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // fields 14 and 15 of proc(5)
                }
            }
        }
        return 0;
    }

    /** The request fails in the TLS handshake: no HTTP exchange at all. */
    private static SSLHandshakeException handshakeFailure(Executable request) {
        IOException failure = assertThrows(IOException.class, request);
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SSLHandshakeException handshake) {
                return handshake;
            }
        }
        throw new AssertionError("not a TLS handshake failure", failure);
    }

    /* Basic auth over plain HTTP: the flood tests measure authentication, not TLS handshakes. */
    private static ChildExporter plainHttpExporter(String name) throws Exception {
        Path config = Files.writeString(dir.resolve(name + ".yml"), "basic_auth_users: {" + USER + ": '" + HASH + "'}\n");
        return ChildExporter.start(List.of(), "--web.listen-address=127.0.0.1:0", "--web.config.file=" + config);
    }

    private static final String LEGITIMATE = "127.0.0.2";
    private static final List<String> FLOOD_SOURCES = List.of("127.0.0.1", "127.0.0.3");
    private static final int LEGITIMATE_SCRAPES = 10;
    /*
     * Half of Prometheus' default 10 s scrape_timeout. A first check waits for the one running, then runs (2 x 60 ms
     * at cost 10 on an idle machine); the margin is for a shared, loaded test machine.
     */
    private static final long SLOW_SCRAPE_MILLIS = 5_000;

    private record Scrape(int status, long millis) {
    }

    /** One scrape on a new connection from {@code source}, with the right password. */
    private static Scrape scrapeFrom(String source, int port) throws IOException {
        long start = System.nanoTime();
        try (LoopbackClient client = LoopbackClient.connect(source, port)) {
            int status = client.get("/metrics", basic(USER, PASSWORD)).status();
            return new Scrape(status, (System.nanoTime() - start) / 1_000_000);
        }
    }

    private static List<Scrape> scrapeOncePerSecond(String source, int port, int count) throws Exception {
        List<Scrape> scrapes = new ArrayList<>();
        long next = System.nanoTime();
        for (int i = 0; i < count; i++) {
            Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000));
            next += 1_000_000_000L;
            scrapes.add(scrapeFrom(source, port));
        }
        return scrapes;
    }

    private static void assertLegitimateScrapes(String scraper, List<Scrape> scrapes, Map<String, Long> flood) {
        List<Long> millis = scrapes.stream().map(Scrape::millis).sorted().toList();
        System.out.printf("basic auth flood, scraper %s: %s; latency p50 %d ms, p99 %d ms, max %d ms;"
                + " flood answers %s%n", scraper, scrapes.stream().map(scrape -> scrape.status() + " in " + scrape.millis() + " ms").toList(),
                millis.get((millis.size() - 1) / 2), millis.get((int) Math.ceil(millis.size() * 0.99) - 1),
                millis.get(millis.size() - 1), flood);
        assertEquals(LEGITIMATE_SCRAPES, scrapes.stream().filter(scrape -> scrape.status() == 200).count(), scrapes.toString());
        assertTrue(millis.get(millis.size() - 1) < SLOW_SCRAPE_MILLIS, scrapes.toString());
        assertEquals(Set.of("401", "429"), flood.keySet(), "the flood gets 401 or 429, nothing else: " + flood);
    }

    /**
     * {@value #FLOOD_CLIENTS} clients on keep-alive connections, split between the
     * source addresses, each sending wrong passwords as fast as it is answered:
     * half for the real user, half for unknown users, every password different.
     */
    private static final class Flood implements AutoCloseable {
        private static final int FLOOD_CLIENTS = 32;
        private final Map<String, LongAdder> answers = new ConcurrentHashMap<>();
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean running = true;

        static Flood start(int port, List<String> sources) {
            Flood flood = new Flood();
            for (int i = 0; i < FLOOD_CLIENTS; i++) {
                String source = sources.get(i % sources.size());
                String user = (i / sources.size()) % 2 == 0 ? USER : "mallory" + i;
                String client = "flood-" + i;
                Thread thread = new Thread(() -> flood.hammer(port, source, user, client), client);
                flood.threads.add(thread);
                thread.start();
            }
            return flood;
        }

        private void hammer(int port, String source, String user, String client) {
            for (long attempt = 0; running; ) {
                try (LoopbackClient connection = LoopbackClient.connect(source, port)) {
                    while (running) {
                        int status = connection.get("/metrics", basic(user, client + "-guess-" + attempt++)).status();
                        answers.computeIfAbsent(String.valueOf(status), key -> new LongAdder()).increment();
                    }
                } catch (IOException e) {
                    answers.computeIfAbsent(e.getClass().getSimpleName(), key -> new LongAdder()).increment();
                }
            }
        }

        /** Stops the clients; how many answers of each status (or exceptions) they got. */
        Map<String, Long> stop() throws InterruptedException {
            running = false;
            for (Thread thread : threads) {
                thread.join(60_000);
            }
            Map<String, Long> counts = new TreeMap<>();
            answers.forEach((key, count) -> counts.put(key, count.sum()));
            return counts;
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }

    private static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            bytes.write(buffer, 0, n);
        }
        return bytes.toByteArray();
    }
}
