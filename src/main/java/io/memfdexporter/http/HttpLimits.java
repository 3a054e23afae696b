package io.memfdexporter.http;

import java.time.Duration;

/**
 * How much of the exporter's HTTP side a client may hold, in number and in time:
 * the people the exporter watches can reach its port, so none of it may grow with
 * what they send.
 *
 * @param maxConnections connections open at once; a new one beyond evicts the oldest
 *        connection that has no request in progress, or is closed at once if there is none
 * @param maxRequests scrape requests waiting for or receiving a response at once; more get 503
 * @param readHeaderTimeout time a new connection has to deliver a complete request head
 * @param idleTimeout time a connection may go without a request after its last response,
 *        and without sending or receiving a byte at any time
 */
public record HttpLimits(int maxConnections, int maxRequests, Duration readHeaderTimeout, Duration idleTimeout) {
    /** Room for a few Prometheus servers and people with curl; the fds and ~20 KiB of heap each stay bounded. */
    public static final int DEFAULT_MAX_CONNECTIONS = 256;
    /** node_exporter's default; waiting is cheap, as requests share one collection. */
    public static final int DEFAULT_MAX_REQUESTS = 40;
    public static final int DEFAULT_READ_HEADER_TIMEOUT_SECONDS = 10;
    /** Above Prometheus's usual 15 s to 30 s scrape interval, so its connection stays open between scrapes. */
    public static final int DEFAULT_IDLE_TIMEOUT_SECONDS = 60;
    public static final HttpLimits DEFAULT = new HttpLimits(DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUESTS,
            Duration.ofSeconds(DEFAULT_READ_HEADER_TIMEOUT_SECONDS), Duration.ofSeconds(DEFAULT_IDLE_TIMEOUT_SECONDS));
    /** A request line or a header line longer than this gets 414 or 431. */
    static final int MAX_LINE_BYTES = 4096;
    /** All header lines together; more gets 431. */
    static final int MAX_HEADER_BYTES = 8192;

    public HttpLimits {
        if (maxConnections < 1 || maxRequests < 1) {
            throw new IllegalArgumentException("connection and request limits must be positive");
        }
        if (readHeaderTimeout.toMillis() < 1 || idleTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("timeouts must be at least 1ms");
        }
    }
}
