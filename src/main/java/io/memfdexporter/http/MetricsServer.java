package io.memfdexporter.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.MetricNameFilter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The exporter's HTTP side: the metrics path (Prometheus text, OpenMetrics or
 * protobuf, as the Accept header asks), a landing page at {@code /} and
 * {@code /-/healthy}, over TLS and behind basic auth as the web config says.
 * Scrapes read BPF maps, so they run on worker threads, never on the event loop.
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
     * @param healthy whether the exporter still counts (its BPF programs are attached)
     * @throws ListenException when the address cannot be bound
     */
    public static MetricsServer start(ListenAddress address, String telemetryPath, WebConfig web, PrometheusRegistry registry,
                                      BooleanSupplier healthy, String landingPageVersion) {
        // No classpath file cache: the exporter serves no files, and a read-only root has nowhere to put it.
        Vertx vertx = Vertx.vertx(new VertxOptions().setFileSystemOptions(
                new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false)));
        ExpositionFormats formats = ExpositionFormats.init();
        Router router = Router.router(vertx);
        if (!web.headers().isEmpty()) {
            router.route().handler(ctx -> {
                web.headers().forEach(ctx.response()::putHeader);
                ctx.next();
            });
        }
        router.get(HEALTH_PATH).handler(ctx -> {
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
        router.get(telemetryPath).handler(ctx -> scrape(vertx, ctx, registry, formats));
        router.get("/").handler(ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
                .end(LandingPage.html(landingPageVersion, telemetryPath)));
        HttpServerOptions options = serverOptions(web.tls());
        try {
            HttpServer server = vertx.createHttpServer(options).requestHandler(router)
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

    private static HttpServerOptions serverOptions(WebConfig.Tls tls) {
        HttpServerOptions options = new HttpServerOptions().setCompressionSupported(true);
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

    private static void scrape(Vertx vertx, RoutingContext ctx, PrometheusRegistry registry, ExpositionFormats formats) {
        String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
        List<String> names = ctx.queryParam("name[]");
        vertx.executeBlocking(() -> {
            // name[]=... as in client_java's own exporters; names match with or without _total/_info.
            MetricSnapshots snapshots = names.isEmpty() ? registry.scrape()
                    : registry.scrape(MetricNameFilter.builder().nameMustBeEqualTo(names).build());
            ExpositionFormatWriter writer = formats.findWriter(accept);
            ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
            try {
                writer.write(body, snapshots);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new Exposition(writer.getContentType(), body.toByteArray());
        }, false).onComplete(result -> {
            if (result.succeeded()) {
                ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, result.result().contentType())
                        .end(Buffer.buffer(result.result().body()));
            } else {
                LOG.log(Level.WARNING, "scrape failed", result.cause());
                ctx.response().setStatusCode(500).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                        .end("scrape failed: " + result.cause() + "\n");
            }
        });
    }

    private record Exposition(String contentType, byte[] body) {
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
