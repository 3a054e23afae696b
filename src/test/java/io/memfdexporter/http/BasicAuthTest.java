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
            queue.submit(ip, name.getBytes(StandardCharsets.UTF_8), () -> ran.add(name) && !name.startsWith("wrong"),
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
        assertEquals(BcryptQueue.Client.of("10.0.0.1"), BcryptQueue.Client.of("::ffff:10.0.0.1"));
        assertEquals("loopback", BcryptQueue.Client.of("::1").group());
        assertEquals(BcryptQueue.Client.of("2001:db8:0:1::1").address(), BcryptQueue.Client.of("2001:db8:0:1::2").address());
        assertEquals("unknown", BcryptQueue.Client.of("not-an-address.example").group(), "no DNS lookup");
        assertTrue(stepped.answers.stream().allMatch(answer -> answer.endsWith("=MATCH")), stepped.answers.toString());
    }

    @Test
    void inAGroupAnAddressWhoseLastCheckFailedWaitsBehindTheOthers() {
        SteppedQueue stepped = new SteppedQueue();
        for (String check : List.of("wrong1", "wrong2", "wrong3")) {
            stepped.submit("127.0.0.1", check);
        }
        stepped.submit("127.0.0.2", "right");
        stepped.runAll();
        assertEquals(List.of("wrong1", "right", "wrong2", "wrong3"), stepped.ran);
        assertEquals(List.of("wrong1=MISMATCH", "right=MATCH", "wrong2=MISMATCH", "wrong3=MISMATCH"), stepped.answers);
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
    void whenTheQueueIsFullANewcomerTakesThePlaceOfTheNewestCheckOfTheLargestGroupAndAddress() {
        SteppedQueue stepped = new SteppedQueue();
        for (int address = 0; address < 300; address++) { // one flooding group: all loopback
            for (int i = 0; i < 4; i++) {
                stepped.submit("127.0." + (address / 100) + "." + (address % 100), "flood " + address + "/" + i);
            }
        }
        // One runs and 1024 wait; each request beyond refuses one: itself, or the newest of an address with more.
        assertEquals(300 * 4 - 1 - BcryptQueue.MAX_WAITING_CHECKS, stepped.answers.size());

        for (String newcomer : List.of("elsewhere", "elsewhere again", "newcomer in the flooding group")) {
            int before = stepped.answers.size();
            stepped.submit(newcomer.startsWith("elsewhere") ? "198.51.100.1" : "127.0.0.200", newcomer);
            assertEquals(before + 1, stepped.answers.size());
            String refused = stepped.answers.get(before);
            assertTrue(refused.startsWith("flood ") && refused.endsWith("=REFUSED"), refused);
        }
        for (int i = 0; i < 3; i++) {
            stepped.submit("127.0.0.200", "newcomer " + i);
        }
        // Its address would have 4 waiting, as many as the largest: a tie, so it does not evict.
        assertEquals("newcomer 2=REFUSED", stepped.answers.get(stepped.answers.size() - 1));

        stepped.runAll();
        assertEquals(BcryptQueue.MAX_WAITING_CHECKS + 1, stepped.ran.size());
        assertTrue(stepped.ran.containsAll(List.of("elsewhere", "elsewhere again", "newcomer in the flooding group",
                "newcomer 0", "newcomer 1")), "no newcomer was evicted");
        assertEquals(300 * 4 + 6, stepped.answers.size(), "every request got one answer");
    }

    @Test
    void aVerifiedPasswordIsServedAtOnceWhileWrongOnesWaitOrGet429AfterASecond() throws Exception {
        WebConfig web = WebConfig.parse("basic_auth_users: {alice: '" + BCrypt.hashpw("secret", BCrypt.gensalt(10)) + "'}",
                Path.of("."));
        try (MetricsServer server = MetricsServer.start(new ListenAddress("127.0.0.1", 0), "/metrics", web, HttpLimits.DEFAULT,
                new PrometheusRegistry(), () -> true, "test")) {
            assertEquals(200, get(server.port(), "alice", "secret").get().statusCode(), "verified once, by bcrypt");

            // Each answer with the milliseconds it took.
            List<CompletableFuture<long[]>> flood = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                long sent = System.nanoTime();
                flood.add(get(server.port(), i % 2 == 0 ? "alice" : "mallory" + i, "guess" + i)
                        .thenApply(response -> new long[] {response.statusCode(), (System.nanoTime() - sent) / 1_000_000}));
            }
            Thread.sleep(200); // let the flood reach the server first
            HttpResponse<String> verified = get(server.port(), "alice", "secret").get();
            assertEquals(200, verified.statusCode());
            assertTrue(flood.stream().anyMatch(response -> !response.isDone()),
                    "the remembered password did not wait behind the queued bcrypt checks");

            int tooMany = 0;
            for (CompletableFuture<long[]> response : flood) {
                long[] answer = response.get();
                assertTrue(answer[0] == 401 || answer[0] == 429, "status " + answer[0]);
                if (answer[0] == 429) {
                    tooMany++;
                    assertTrue(answer[1] >= Refusal.DELAY_MILLIS, "a 429 came after " + answer[1] + " ms");
                }
            }
            // All from 127.0.0.1, which may have 4 requests waiting: the others are refused while those wait.
            assertTrue(tooMany > 0, "no request was refused");
        }
    }
}
