package io.memfdexporter.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.Test;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/** The HTTP side's bounds, on a server without BPF (a registry whose collector the test controls), plain HTTP. */
class MetricsServerTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final HttpLimits LIMITS = new HttpLimits(256, 40, Duration.ofSeconds(10), Duration.ofSeconds(60));

    /** Counts its collections; each waits for {@code release}, then returns one gauge, or throws {@code failure}. */
    private static final class TestCollector implements MultiCollector {
        final AtomicInteger collections = new AtomicInteger();
        final CountDownLatch release;
        final RuntimeException failure;

        TestCollector(CountDownLatch release, RuntimeException failure) {
            this.release = release;
            this.failure = failure;
        }

        @Override
        public MetricSnapshots collect() {
            int collection = collections.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (failure != null) {
                throw failure;
            }
            return MetricSnapshots.of(GaugeSnapshot.builder().name("test_collection").help("which collection")
                    .dataPoint(GaugeDataPointSnapshot.builder().value(collection).build()).build());
        }
    }

    private static MetricsServer start(MultiCollector collector) {
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(collector);
        return MetricsServer.start(new ListenAddress("127.0.0.1", 0), "/metrics", WebConfig.NONE, LIMITS, registry,
                () -> true, "test");
    }

    private static CompletableFuture<HttpResponse<byte[]>> get(int port) {
        return get(port, "/metrics");
    }

    private static CompletableFuture<HttpResponse<byte[]>> get(int port, String path) {
        return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void landingPagesJoinTheScrapesCollectionAndShareTheirLimit() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TestCollector collector = new TestCollector(release, null);
        try (MetricsServer server = start(collector)) {
            List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
            for (int i = 0; i < LIMITS.maxRequests() + 5; i++) {
                responses.add(get(server.port(), i % 2 == 0 ? "/" : "/metrics"));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (responses.stream().filter(CompletableFuture::isDone).count() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            release.countDown();
            int ok = 0;
            int unavailable = 0;
            for (CompletableFuture<HttpResponse<byte[]>> future : responses) {
                HttpResponse<byte[]> response = future.get(60, TimeUnit.SECONDS);
                if (response.statusCode() == 503) {
                    unavailable++;
                    continue;
                }
                assertEquals(200, response.statusCode());
                ok++;
                String body = new String(response.body(), StandardCharsets.UTF_8);
                boolean page = response.uri().getPath().equals("/");
                assertTrue(page ? body.contains("<h1>memfd_exporter</h1>") : body.contains("test_collection 1.0"), body);
            }
            assertEquals(40, ok);
            assertEquals(5, unavailable, "pages and scrapes share --web.max-requests");
            assertEquals(1, collector.collections.get(), "pages and scrapes in flight together: one collection");
        }
    }

    @Test
    void concurrentScrapesShareOneCollectionAndRequestsBeyondTheLimitGet503WithRetryAfter() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TestCollector collector = new TestCollector(release, null);
        try (MetricsServer server = start(collector)) {
            List<CompletableFuture<HttpResponse<byte[]>>> responses = new ArrayList<>();
            long sent = System.nanoTime();
            for (int i = 0; i < LIMITS.maxRequests() + 5; i++) {
                responses.add(get(server.port()));
            }
            // Five answered while the collection is held: the other 40 are in progress, each joined to it.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (responses.stream().filter(CompletableFuture::isDone).count() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(System.nanoTime() - sent >= TimeUnit.MILLISECONDS.toNanos(Refusal.DELAY_MILLIS),
                    "refusals are held, so a client retrying at once cannot spin the exporter");
            release.countDown();
            int ok = 0;
            int unavailable = 0;
            byte[] firstBody = null;
            for (CompletableFuture<HttpResponse<byte[]>> future : responses) {
                HttpResponse<byte[]> response = future.get(60, TimeUnit.SECONDS);
                if (response.statusCode() == 200) {
                    ok++;
                    firstBody = firstBody == null ? response.body() : firstBody;
                    assertArrayEquals(firstBody, response.body(), "every waiter gets the same body");
                } else {
                    assertEquals(503, response.statusCode());
                    assertEquals("1", response.headers().firstValue("Retry-After").orElseThrow());
                    unavailable++;
                }
            }
            assertEquals(40, ok);
            assertEquals(5, unavailable);
            assertEquals(1, collector.collections.get(), "40 concurrent scrapes, one collection");
            assertTrue(new String(firstBody, StandardCharsets.UTF_8).contains("test_collection 1.0"));

            HttpResponse<byte[]> next = get(server.port()).get(60, TimeUnit.SECONDS);
            assertEquals(200, next.statusCode());
            assertTrue(new String(next.body(), StandardCharsets.UTF_8).contains("test_collection 2.0"), "a later scrape collects anew");
        }
    }

    @Test
    void gzipIsSentWhenAcceptedAndNotWhenRefused() throws Exception {
        try (MetricsServer server = start(new TestCollector(new CountDownLatch(0), null))) {
            String gzipped = exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate, gzip;q=0.5\r\n"
                    + "Connection: close\r\n\r\n");
            assertTrue(gzipped.toLowerCase().contains("content-encoding: gzip"), gzipped);
            byte[] body = gzipped.substring(gzipped.indexOf("\r\n\r\n") + 4).getBytes(StandardCharsets.ISO_8859_1);
            String text = new String(new GZIPInputStream(new ByteArrayInputStream(body)).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text.contains("test_collection 1.0"), text);
            String plain = exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0\r\n"
                    + "Connection: close\r\n\r\n");
            assertFalse(plain.toLowerCase().contains("content-encoding"), plain);
            assertTrue(plain.contains("test_collection 2.0"), plain);
        }
    }

    @Test
    void headIsAnsweredLikeGetWithoutABody() throws Exception {
        try (MetricsServer server = start(new TestCollector(new CountDownLatch(0), null))) {
            // Two requests on one connection: if HEAD sent a body, the second response would not follow the first head.
            String answer = exchange(server.port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            int endOfHead = answer.indexOf("\r\n\r\n");
            String head = answer.substring(0, endOfHead);
            assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), answer);
            assertTrue(head.toLowerCase().contains("content-type: text/plain; version=0.0.4; charset=utf-8"), head);
            assertTrue(answer.substring(endOfHead + 4).startsWith("HTTP/1.1 200 OK\r\n"), "no body after the HEAD response: " + answer);
            assertTrue(answer.endsWith("Healthy\n"), answer);
        }
    }

    @Test
    void aFailedScrapeAnswers500WithoutTheExceptionText() throws Exception {
        RuntimeException failure = new IllegalStateException("internal detail: /etc/memfd/secret-key.pem");
        try (MetricsServer server = start(new TestCollector(new CountDownLatch(0), failure))) {
            HttpResponse<byte[]> response = get(server.port()).get(60, TimeUnit.SECONDS);
            assertEquals(500, response.statusCode());
            String body = new String(response.body(), StandardCharsets.UTF_8);
            assertEquals("scrape failed (see the exporter's log)\n", body);
        }
    }

    @Test
    void oversizeUrlsHeadersAndBodiesGet4xxUnbufferedAndTheConnectionIsClosed() throws Exception {
        String longUrl = "GET /metrics?name[]=" + "a".repeat(HttpLimits.MAX_LINE_BYTES) + " HTTP/1.1\r\nHost: x\r\n\r\n";
        String longHeader = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(HttpLimits.MAX_HEADER_BYTES) + "\r\n\r\n";
        String manyHeaders = "GET /metrics HTTP/1.1\r\nHost: x\r\n" + "X-Many: ccccccccccccccccccccccccc\r\n".repeat(400) + "\r\n";
        // The bodies are announced but never sent: a server that waited to buffer them would never answer.
        String hugeBody = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" + "d".repeat(1000);
        String chunkedBody = "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n" + "e".repeat(1000);
        try (MetricsServer server = start(new TestCollector(new CountDownLatch(0), null))) {
            long baselineFds = openFds();
            for (int round = 0; round < 50; round++) {
                assertStatusThenClosed(server.port(), longUrl, 414);
                assertStatusThenClosed(server.port(), longHeader, 431);
                assertStatusThenClosed(server.port(), manyHeaders, 431);
                assertStatusThenClosed(server.port(), hugeBody, 413);
                assertStatusThenClosed(server.port(), chunkedBody, 413);
            }
            assertTrue(openFds() <= baselineFds + 5, "250 refused requests, descriptors " + baselineFds + " -> " + openFds());
            assertEquals(200, get(server.port()).get(60, TimeUnit.SECONDS).statusCode(), "the server goes on");
        }
    }

    private static void assertStatusThenClosed(int port, String request, int status) throws IOException {
        String answer = exchange(port, request);
        assertTrue(answer.matches("(?s)HTTP/1\\.[01] " + status + " .*"), "expected " + status + ": " + answer);
    }

    /** Sends the request bytes and reads until the server closes the connection (10 s at most, else it fails). */
    private static String exchange(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            try {
                socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            } catch (SocketException e) {
                // The server may answer and close before it read everything we send: read what it said.
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    answer.write(buffer, 0, n);
                }
            } catch (SocketException reset) {
                // a reset after the response (unread request bytes) closes the connection too
            }
            return answer.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static long openFds() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
