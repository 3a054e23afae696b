package io.memfdexporter.http;

import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

/**
 * Refusals that a client is told to retry (429, 503 with {@code Retry-After}),
 * answered only after {@link #DELAY_MILLIS}. Refused at once, a flooding client
 * asks again at once, and the exporter spends a core answering refusals and its
 * heap on their garbage; held, each connection costs one timer per second.
 * Held refusals are bounded by the connections (--web.max-connections).
 */
final class Refusal {
    static final long DELAY_MILLIS = 1_000;

    private Refusal() {
    }

    static void answerLater(RoutingContext ctx, int status, String body) {
        ctx.vertx().setTimer(DELAY_MILLIS, timer -> {
            if (!ctx.response().closed()) {
                ctx.response().setStatusCode(status).putHeader(HttpHeaders.RETRY_AFTER, "1")
                        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8").end(body);
            }
        });
    }
}
