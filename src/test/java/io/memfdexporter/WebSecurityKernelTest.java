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
import java.util.List;

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
                """.formatted(USER, BCrypt.hashpw(PASSWORD, BCrypt.gensalt(10))));
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

    private static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            bytes.write(buffer, 0, n);
        }
        return bytes.toByteArray();
    }
}
