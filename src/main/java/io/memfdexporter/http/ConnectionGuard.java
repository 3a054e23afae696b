package io.memfdexporter.http;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Logger;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;

/**
 * Bounds the server's connections in number and in time. A connection must
 * deliver a complete request head within the read-header timeout of opening, and
 * its next one within the idle timeout of its last response; otherwise it is
 * closed, so a client that sends a partial request (or one byte every few
 * seconds, which an idle timeout alone never fires on) holds its descriptor for
 * seconds, not forever. At the connection limit, a new connection evicts the
 * oldest one that has no request in progress: an attacker holding every slot with
 * partial requests cannot lock Prometheus out, only delay it by a reconnect.
 */
final class ConnectionGuard {
    private static final Logger LOG = Logger.getLogger(ConnectionGuard.class.getName());

    private final Vertx vertx;
    private final HttpLimits limits;
    /* Oldest first; guarded by itself. */
    private final Map<HttpConnection, State> open = new LinkedHashMap<>();

    /** What one connection is doing; fields guarded by {@code open}. */
    private static final class State {
        int requestsInProgress;
        long timer = -1;
    }

    ConnectionGuard(Vertx vertx, HttpLimits limits) {
        this.vertx = vertx;
        this.limits = limits;
    }

    /** The server's connection handler (HTTP/1.x: called once TLS, if any, is established). */
    void opened(HttpConnection connection) {
        State state = new State();
        HttpConnection evicted = null;
        boolean refused = false;
        synchronized (open) {
            if (open.size() >= limits.maxConnections()) {
                evicted = open.entrySet().stream().filter(e -> e.getValue().requestsInProgress == 0)
                        .map(Map.Entry::getKey).findFirst().orElse(null);
                if (evicted == null) {
                    refused = true;
                } else {
                    cancelTimer(open.remove(evicted));
                }
            }
            if (!refused) {
                open.put(connection, state);
                arm(connection, state, limits.readHeaderTimeout().toMillis());
            }
        }
        if (evicted != null) {
            LOG.fine("connection limit reached: closing the oldest connection without a request in progress");
            evicted.close();
        }
        if (refused) {
            LOG.fine("connection limit reached, every connection busy: refusing a new one");
            connection.close();
            return;
        }
        connection.closeHandler(v -> {
            synchronized (open) {
                cancelTimer(open.remove(connection));
            }
        });
    }

    /** A complete request head arrived: no deadline while it is answered. */
    void requestStarted(HttpConnection connection) {
        synchronized (open) {
            State state = open.get(connection);
            if (state != null) {
                state.requestsInProgress++;
                cancelTimer(state);
            }
        }
    }

    /** Its response ended (or the connection closed): the next request head is due within the idle timeout. */
    void requestEnded(HttpConnection connection) {
        synchronized (open) {
            State state = open.get(connection);
            if (state != null && --state.requestsInProgress == 0) {
                arm(connection, state, limits.idleTimeout().toMillis());
            }
        }
    }

    private void arm(HttpConnection connection, State state, long millis) {
        cancelTimer(state);
        state.timer = vertx.setTimer(millis, id -> {
            synchronized (open) {
                if (state.timer != id) {
                    return;
                }
                state.timer = -1;
            }
            connection.close();
        });
    }

    private void cancelTimer(State state) {
        if (state != null && state.timer != -1) {
            vertx.cancelTimer(state.timer);
            state.timer = -1;
        }
    }
}
