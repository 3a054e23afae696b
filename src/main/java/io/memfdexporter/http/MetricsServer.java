package io.memfdexporter.http;

import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The exporter's HTTP side: the metrics path (Prometheus text, OpenMetrics or
 * protobuf, as the Accept header asks), a landing page at {@code /} and
 * {@code /-/healthy}, over TLS and behind basic auth as the web config says.
 * Scrapes read BPF maps, so they run on a worker thread, never on the event loop,
 * one collection shared by every concurrent request ({@link SharedScrape}); what a
 * client may hold is bounded by {@link HttpLimits} ({@link ConnectionGuard}), and
 * error bodies name no internal detail (it goes to the log). HEAD is answered as
 * GET, without the body.
 * <p>
 * Basic auth guards every path but {@code /-/healthy}, which answers only
 * whether the programs are attached: liveness probes (kubelet, systemd) seldom
 * carry credentials, and it reads no map, runs no bcrypt and names nothing.
 * TLS and client certificates still apply to it.
 */
public final class MetricsServer implements AutoCloseable {
    public static final String HEALTH_PATH = "/-/healthy";
    private static final Logger LOG = Logger.getLogger(MetricsServer.class.getName());
    private static final long STARTUP_TIMEOUT_SECONDS = 30;

    private final Vertx vertx;
    private final HttpServer server;

    private MetricsServer(Vertx vertx, HttpServer server) {
        this.vertx = vertx;
        this.server = server;
    }

    /**
     * Starts listening.
     *
     * @param web TLS, basic auth and headers ({@link WebConfig#NONE}: plain HTTP, open)
     * @param limits connections and requests a client may hold
     * @param healthy whether the exporter still counts (its BPF programs are attached)
     * @throws ListenException when the address cannot be bound
     */
    public static MetricsServer start(ListenAddress address, String telemetryPath, WebConfig web, HttpLimits limits,
                                      PrometheusRegistry registry, BooleanSupplier healthy, String landingPageVersion) {
        // No classpath file cache: the exporter serves no files, and a read-only root has nowhere to put it.
        Vertx vertx = Vertx.vertx(new VertxOptions().setFileSystemOptions(
                new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false)));
        ConnectionGuard connections = new ConnectionGuard(vertx, limits);
        SharedScrape scrapes = new SharedScrape(registry::scrape, ExpositionFormats.init(),
                vertx.createSharedWorkerExecutor("memfd-scrape", 1));
        AtomicInteger scrapesInProgress = new AtomicInteger();
        Router router = Router.router(vertx);
        router.route().handler(ctx -> {
            HttpConnection connection = ctx.request().connection();
            connections.requestStarted(connection);
            ctx.addEndHandler(done -> connections.requestEnded(connection));
            if (hasBody(ctx.request())) {
                // No path takes a body: refuse it unread, and close rather than read past it to the next request.
                ctx.response().setStatusCode(413).putHeader(HttpHeaders.CONNECTION, "close")
                        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                        .end("request bodies are not accepted\n").onComplete(sent -> connection.close());
                return;
            }
            web.headers().forEach(ctx.response()::putHeader);
            ctx.next();
        });
        router.route(HEALTH_PATH).method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx -> {
            boolean ok = healthy.getAsBoolean();
            ctx.response().setStatusCode(ok ? 200 : 503)
                    .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .end(ok ? "Healthy\n" : "Unhealthy: BPF programs are not attached\n");
        });
        if (!web.users().isEmpty()) {
            // Every route added after this one needs credentials; so does any path that matches none (401, not 404).
            router.route().handler(new BasicAuth(web.users(), vertx.createSharedWorkerExecutor("memfd-bcrypt", 1)));
            if (web.tls() == null) {
                LOG.warning("basic auth without TLS: passwords cross the network in clear text");
            }
        }
        router.route(telemetryPath).method(HttpMethod.GET).method(HttpMethod.HEAD)
                .handler(ctx -> scrape(ctx, scrapes, scrapesInProgress, limits.maxRequests()));
        router.route("/").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx -> {
            if (!admitted(ctx, scrapesInProgress, limits.maxRequests())) {
                return;
            }
            // Read on the worker at request time, as the collection is: privileges may have been dropped since.
            scrapes.render(snapshots -> LandingPage.html(snapshots,
                    LandingPage.Context.now(landingPageVersion, telemetryPath, healthy.getAsBoolean())))
                    .onComplete(result -> {
                        if (result.succeeded()) {
                            ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
                                    .putHeader("Content-Security-Policy", LandingPage.CONTENT_SECURITY_POLICY)
                                    .end(result.result());
                        } else {
                            LOG.log(Level.WARNING, "landing page failed", result.cause());
                            ctx.response().setStatusCode(500).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                                    .end("landing page failed (see the exporter's log)\n");
                        }
                    });
        });
        // vert.x's default error pages carry no detail; a handler's exception is logged, never sent.
        router.errorHandler(500, ctx -> {
            LOG.log(Level.WARNING, "request " + ctx.request().method() + " " + ctx.request().path() + " failed", ctx.failure());
            ctx.response().setStatusCode(500).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .end("internal error (see the exporter's log)\n");
        });
        try {
            HttpServer server = vertx.createHttpServer(serverOptions(web.tls(), limits))
                    .connectionHandler(connections::opened).requestHandler(router)
                    .listen(address.port(), address.host())
                    .toCompletionStage().toCompletableFuture().get(STARTUP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return new MetricsServer(vertx, server);
        } catch (ExecutionException e) {
            closeQuietly(vertx);
            throw new ListenException("cannot listen on " + address + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            closeQuietly(vertx);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new ListenException("cannot listen on " + address + ": " + e, e);
        }
    }

    private static HttpServerOptions serverOptions(WebConfig.Tls tls, HttpLimits limits) {
        HttpServerOptions options = new HttpServerOptions()
                // Scrape bodies are gzipped once per collection by SharedScrape, not once per client here.
                .setCompressionSupported(false)
                // HTTP/1.1 only: the connection guard counts requests per connection, which h2c would multiplex.
                .setHttp2ClearTextEnabled(false)
                .setMaxInitialLineLength(HttpLimits.MAX_LINE_BYTES).setMaxHeaderSize(HttpLimits.MAX_HEADER_BYTES)
                // No byte either way for this long closes a connection, whatever it is doing (vert.x's own timer).
                .setIdleTimeoutUnit(TimeUnit.MILLISECONDS).setIdleTimeout((int) limits.idleTimeout().toMillis());
        if (tls != null) {
            options.setSsl(true).setKeyCertOptions(tls.certificate()).setClientAuth(tls.clientAuth())
                    .setEnabledSecureTransportProtocols(tls.protocols());
            if (tls.clientCas() != null) {
                options.setTrustOptions(tls.clientCas());
            }
            tls.cipherSuites().forEach(options::addEnabledCipherSuite);
        }
        return options;
    }

    private static boolean hasBody(HttpServerRequest request) {
        String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        return request.headers().contains(HttpHeaders.TRANSFER_ENCODING) || (length != null && !length.equals("0"));
    }

    /**
     * Takes one of the --web.max-requests slots that scrapes and landing pages share, or answers 503:
     * a page costs a collection just as a scrape does.
     */
    private static boolean admitted(RoutingContext ctx, AtomicInteger inProgress, int maxRequests) {
        if (inProgress.incrementAndGet() > maxRequests) {
            inProgress.decrementAndGet();
            Refusal.answerLater(ctx, 503, "too many concurrent scrapes (--web.max-requests=" + maxRequests + ")\n");
            return false;
        }
        // Counted until the body is sent or the connection closes: a slow reader keeps its slot.
        ctx.addEndHandler(done -> inProgress.decrementAndGet());
        return true;
    }

    private static void scrape(RoutingContext ctx, SharedScrape scrapes, AtomicInteger inProgress, int maxRequests) {
        if (!admitted(ctx, inProgress, maxRequests)) {
            return;
        }
        scrapes.scrape(ctx.request().getHeader(HttpHeaders.ACCEPT), ctx.queryParam("name[]"),
                acceptsGzip(ctx.request().getHeader(HttpHeaders.ACCEPT_ENCODING))).onComplete(result -> {
            if (result.succeeded()) {
                SharedScrape.Encoded encoded = result.result();
                ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, encoded.contentType())
                        .putHeader(HttpHeaders.VARY, HttpHeaders.ACCEPT_ENCODING);
                if (encoded.gzip()) {
                    ctx.response().putHeader(HttpHeaders.CONTENT_ENCODING, "gzip");
                }
                ctx.response().end(encoded.body());
            } else {
                LOG.log(Level.WARNING, "scrape failed", result.cause());
                ctx.response().setStatusCode(500).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                        .end("scrape failed (see the exporter's log)\n");
            }
        });
    }

    /** Whether Accept-Encoding admits gzip: a gzip or * coding whose q is not 0. */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        for (String coding : acceptEncoding.split(",")) {
            String[] parts = coding.split(";");
            String name = parts[0].trim().toLowerCase(Locale.ROOT);
            if (!name.equals("gzip") && !name.equals("*")) {
                continue;
            }
            boolean refused = false;
            for (int i = 1; i < parts.length; i++) {
                String parameter = parts[i].trim().toLowerCase(Locale.ROOT).replace(" ", "");
                if (parameter.startsWith("q=")) {
                    refused = parameter.substring(2).matches("0(\\.0{0,3})?");
                }
            }
            if (!refused) {
                return true;
            }
        }
        return false;
    }

    /** The port actually bound (useful when started on port 0). */
    public int port() {
        return server.actualPort();
    }

    /**
     * Stops accepting connections first, then closes vert.x. Scrapes already
     * running on worker threads are not waited for (vert.x does not): what they
     * read is guarded by the exporter.
     */
    @Override
    public void close() {
        awaitQuietly(server.close());
        closeQuietly(vertx);
    }

    private static void closeQuietly(Vertx vertx) {
        awaitQuietly(vertx.close());
    }

    private static void awaitQuietly(Future<Void> closing) {
        try {
            closing.toCompletionStage().toCompletableFuture().get(STARTUP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, "closing the HTTP server failed", e);
        }
    }
}
