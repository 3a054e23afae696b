package io.memfdexporter.testing;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * N scrapers, each on its own keep-alive connection as Prometheus scrapes (gzip
 * accepted; text and OpenMetrics alternately), asking again as soon as a response
 * is complete. Counts responses by status ("error" for a connection that failed,
 * then reopened) and records every latency. Runnable on its own to compare builds:
 * {@code java -cp target/test-classes io.memfdexporter.testing.ScrapeLoad PORT CLIENTS SECONDS}.
 */
public final class ScrapeLoad {
    private ScrapeLoad() {
    }

    /** Responses by status, latencies in ms (sorted), and whether every 503 carried Retry-After. */
    public record Result(Map<String, Long> byStatus, List<Double> latenciesMs, boolean every503HadRetryAfter) {
        public double percentileMs(double p) {
            return latenciesMs.isEmpty() ? Double.NaN
                    : latenciesMs.get(Math.min(latenciesMs.size() - 1, (int) Math.ceil(p / 100 * latenciesMs.size()) - 1));
        }

        public long count(String status) {
            return byStatus.getOrDefault(status, 0L);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "responses %s, p50 %.0f ms, p99 %.0f ms", new TreeMap<>(byStatus),
                    percentileMs(50), percentileMs(99));
        }
    }

    public static Result run(int port, int clients, long seconds) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        Map<String, AtomicLong> byStatus = new ConcurrentHashMap<>();
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong missingRetryAfter = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            String accept = i % 2 == 0 ? Http.TEXT : Http.OPENMETRICS;
            Thread thread = new Thread(() -> {
                while (System.nanoTime() < end) {
                    try (Socket socket = new Socket("127.0.0.1", port)) {
                        socket.setSoTimeout(60_000);
                        OutputStream out = socket.getOutputStream();
                        InputStream in = new BufferedInputStream(socket.getInputStream());
                        byte[] request = ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: " + accept
                                + "\r\nAccept-Encoding: gzip\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
                        while (System.nanoTime() < end) {
                            long start = System.nanoTime();
                            out.write(request);
                            Response response = Response.read(in);
                            latencies.add((System.nanoTime() - start) / 1e6);
                            byStatus.computeIfAbsent(Integer.toString(response.status), s -> new AtomicLong()).incrementAndGet();
                            if (response.status == 503 && !response.headers.contains("\nretry-after: ")) {
                                missingRetryAfter.incrementAndGet();
                            }
                            if (response.headers.contains("\nconnection: close")) {
                                break;
                            }
                        }
                    } catch (IOException e) {
                        byStatus.computeIfAbsent("error", s -> new AtomicLong()).incrementAndGet();
                    }
                }
            }, "scraper-" + i);
            thread.setDaemon(true);
            threads.add(thread);
        }
        threads.forEach(Thread::start);
        for (Thread thread : threads) {
            thread.join();
        }
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        Map<String, Long> counts = new TreeMap<>();
        byStatus.forEach((status, count) -> counts.put(status, count.get()));
        return new Result(counts, sorted, missingRetryAfter.get() == 0);
    }

    /** One HTTP/1.1 response with a Content-Length body; headers lower-cased. */
    private record Response(int status, String headers) {
        static Response read(InputStream in) throws IOException {
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed before a complete response head");
                }
                head.append((char) b);
            }
            String headers = head.toString().toLowerCase(Locale.ROOT);
            int status = Integer.parseInt(headers.substring(9, 12));
            int at = headers.indexOf("\ncontent-length: ");
            long length = at < 0 ? 0 : Long.parseLong(headers.substring(at + 17, headers.indexOf('\r', at)).trim());
            in.skipNBytes(length);
            return new Response(status, headers.replace("\r\n", "\n"));
        }
    }

    public static void main(String[] args) throws InterruptedException {
        System.out.println(run(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Long.parseLong(args[2])));
    }
}
