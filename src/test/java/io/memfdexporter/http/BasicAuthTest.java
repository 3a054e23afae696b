package io.memfdexporter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.springframework.security.crypto.bcrypt.BCrypt;

import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** Basic auth under a flood of wrong passwords, on a server without BPF (plain HTTP). */
class BasicAuthTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static CompletableFuture<HttpResponse<String>> get(int port, String user, String password) {
        String credentials = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .header("Authorization", "Basic " + credentials).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void wrongPasswordsQueueAtMostSixteenBcryptChecksWhileAVerifiedPasswordIsServedAtOnce() throws Exception {
        // A costly hash, so that the flood keeps the single bcrypt thread busy for seconds.
        WebConfig web = WebConfig.parse("basic_auth_users: {alice: '" + BCrypt.hashpw("secret", BCrypt.gensalt(12)) + "'}",
                Path.of("."));
        try (MetricsServer server = MetricsServer.start(new ListenAddress("127.0.0.1", 0), "/metrics", web, HttpLimits.DEFAULT,
                new PrometheusRegistry(), () -> true, "test")) {
            assertEquals(200, get(server.port(), "alice", "secret").get().statusCode(), "verified once, by bcrypt");

            List<CompletableFuture<HttpResponse<String>>> flood = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                flood.add(get(server.port(), i % 2 == 0 ? "alice" : "mallory" + i, "guess" + i));
            }
            Thread.sleep(200); // let the flood reach the server first
            HttpResponse<String> verified = get(server.port(), "alice", "secret").get();
            assertEquals(200, verified.statusCode());
            assertTrue(flood.stream().anyMatch(response -> !response.isDone()),
                    "the remembered password did not wait behind the queued bcrypt checks");

            int tooMany = 0;
            for (CompletableFuture<HttpResponse<String>> response : flood) {
                int status = response.get().statusCode();
                assertTrue(status == 401 || status == 429, "status " + status);
                tooMany += status == 429 ? 1 : 0;
            }
            assertTrue(flood.size() - tooMany <= BasicAuth.MAX_WAITING + 1, "bcrypt checks run or waiting: " + (flood.size() - tooMany));
            assertTrue(tooMany >= flood.size() - BasicAuth.MAX_WAITING - 1, tooMany + " answered 429");
        }
    }
}
