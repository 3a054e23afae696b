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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.springframework.security.crypto.bcrypt.BCrypt;

import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** The bcrypt queue's order and limits, and basic auth under a flood, on a server without BPF (plain HTTP). */
class BasicAuthTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static CompletableFuture<HttpResponse<String>> get(int port, String user, String password) {
        String credentials = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .header("Authorization", "Basic " + credentials).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A queue whose checks run only when the test says, so that order and limits are exact. */
    private static final class SteppedQueue {
        final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        final BcryptQueue queue = new BcryptQueue(tasks::add);
        final List<String> ran = new ArrayList<>();
        final List<String> answers = new ArrayList<>();

        void submit(String ip, String name) {
            queue.submit(ip, name.getBytes(StandardCharsets.UTF_8), () -> ran.add(name),
                    outcome -> answers.add(name + "=" + outcome));
        }

        void runAll() {
            for (Runnable task = tasks.poll(); task != null; task = tasks.poll()) {
                task.run();
            }
        }
    }

    @Test
    void checksAreServedRoundRobinBetweenGroupsThenBetweenTheAddressesOfAGroup() {
        SteppedQueue stepped = new SteppedQueue();
        for (String check : List.of("a1", "a2", "a3", "a4")) {
            stepped.submit("127.0.0.1", check);
        }
        stepped.submit("127.0.0.2", "b1");   // loopback, like 127.0.0.1: the same group
        stepped.submit("10.0.0.1", "c1");    // 10.0.0.0/24
        stepped.submit("10.0.0.2", "d1");    // 10.0.0.0/24 too
        stepped.submit("2001:db8::1", "e1"); // 2001:db8::/48
        stepped.runAll();
        assertEquals(List.of("a1", "a2", "c1", "e1", "b1", "d1", "a3", "a4"), stepped.ran);
        assertEquals(8, stepped.answers.size());
        assertTrue(stepped.answers.stream().allMatch(answer -> answer.endsWith("=MATCH")), stepped.answers.toString());
    }

    @Test
    void anAddressHasAtMostFourRequestsWaitingAndIdenticalCredentialsShareOneCheck() {
        SteppedQueue stepped = new SteppedQueue();
        for (int i = 0; i < 40; i++) {
            stepped.submit("192.0.2.7", "guess" + i);
        }
        assertEquals(36, stepped.answers.stream().filter(answer -> answer.endsWith("=REFUSED")).count());
        stepped.runAll();
        assertEquals(List.of("guess0", "guess1", "guess2", "guess3"), stepped.ran);

        SteppedQueue same = new SteppedQueue();
        same.submit("192.0.2.8", "retry");
        same.submit("192.0.2.8", "retry"); // joins the running check
        same.submit("192.0.2.8", "other");
        same.submit("192.0.2.8", "other"); // joins the waiting one
        same.runAll();
        assertEquals(List.of("retry", "other"), same.ran);
        assertEquals(List.of("retry=MATCH", "retry=MATCH", "other=MATCH", "other=MATCH"), same.answers);
    }

    @Test
    void aGroupHasAtMostSixtyFourAddressesWaitingAndTheQueueAtMost1024Checks() {
        SteppedQueue stepped = new SteppedQueue();
        for (int i = 0; i < 70; i++) {
            stepped.submit("127.0.1." + i, "guess" + i);
        }
        // 64 addresses of the loopback group have a check running or waiting; the other 6 are refused.
        assertEquals(6, stepped.answers.stream().filter(answer -> answer.endsWith("=REFUSED")).count());
        stepped.submit("198.51.100.1", "elsewhere");
        assertEquals(6, stepped.answers.size(), "another group is not refused");

        SteppedQueue full = new SteppedQueue();
        for (int group = 0; group < 20; group++) {
            for (int address = 0; address < 64; address++) {
                full.submit("10." + group + "." + address + ".1", "guess");
            }
        }
        assertEquals(20 * 64 - 1 - BcryptQueue.MAX_WAITING_CHECKS, full.answers.size());
        assertTrue(full.answers.stream().allMatch(answer -> answer.endsWith("=REFUSED")));
        full.runAll();
        assertEquals(BcryptQueue.MAX_WAITING_CHECKS + 1, full.ran.size());
    }

    @Test
    void aVerifiedPasswordIsServedAtOnceWhileWrongOnesWaitOrGet429AfterASecond() throws Exception {
        // A costly hash, so that the flood keeps the single bcrypt thread busy for a while.
        WebConfig web = WebConfig.parse("basic_auth_users: {alice: '" + BCrypt.hashpw("secret", BCrypt.gensalt(12)) + "'}",
                Path.of("."));
        try (MetricsServer server = MetricsServer.start(new ListenAddress("127.0.0.1", 0), "/metrics", web,
                new PrometheusRegistry(), () -> true, "test")) {
            assertEquals(200, get(server.port(), "alice", "secret").get().statusCode(), "verified once, by bcrypt");

            long start = System.nanoTime();
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
            // All from 127.0.0.1: at most four wait at a time, and a refusal is held for a second.
            assertTrue(tooMany >= flood.size() - 2 * BcryptQueue.MAX_WAITING_PER_ADDRESS, tooMany + " answered 429");
            assertTrue(System.nanoTime() - start >= BasicAuth.REFUSAL_DELAY_MILLIS * 1_000_000, "429 came at once");
        }
    }
}
