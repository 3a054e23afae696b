package io.memfdexporter.http;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.zip.GZIPOutputStream;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.MetricNameFilter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * Single-flight scrapes: every request that arrives while a collection runs
 * waits for that collection and gets its result (a request arriving after it
 * completed starts the next one). Collection and encoding run one at a time on
 * one worker thread, and each collection keeps the few encodings its requests
 * asked for (format, gzip or not, {@code name[]} filter), so N concurrent
 * scrapers cost one map read and share one body: memory and CPU do not grow with
 * the number of clients. {@code name[]} filters the shared snapshot instead of
 * collecting again.
 */
final class SharedScrape {
    /** Distinct encodings one collection keeps; requests for further ones are encoded for themselves, in turn. */
    static final int MAX_ENCODINGS_PER_COLLECTION = 8;

    private final Supplier<MetricSnapshots> collect;
    private final ExpositionFormats formats;
    private final WorkerExecutor worker;
    /* The collection requests join, null when none runs; guarded by this. */
    private Collection running;

    /** A response body, shared by every request that asked for the same encoding of the same collection. */
    record Encoded(String contentType, boolean gzip, Buffer body) {
    }

    /** What a request asks for; the writer is one of the few ExpositionFormats holds, compared by identity. */
    private record Key(ExpositionFormatWriter writer, List<String> names, boolean gzip) {
    }

    private static final class Collection {
        final Future<MetricSnapshots> snapshots;
        final Map<Key, Future<Encoded>> encodings = new LinkedHashMap<>();

        Collection(Future<MetricSnapshots> snapshots) {
            this.snapshots = snapshots;
        }
    }

    /** @param worker a single-thread executor: one collection or encoding at a time */
    SharedScrape(Supplier<MetricSnapshots> collect, ExpositionFormats formats, WorkerExecutor worker) {
        this.collect = collect;
        this.formats = formats;
        this.worker = worker;
    }

    /**
     * @param accept the request's Accept header (null: text format)
     * @param names the {@code name[]} parameters; empty for every metric
     */
    Future<Encoded> scrape(String accept, List<String> names, boolean gzip) {
        Key key = new Key(formats.findWriter(accept), names.stream().sorted().distinct().toList(), gzip);
        synchronized (this) {
            Collection collection = joinOrStart();
            Future<Encoded> encoded = collection.encodings.get(key);
            if (encoded == null) {
                encoded = collection.snapshots.compose(snapshots -> worker.executeBlocking(() -> encode(snapshots, key), true));
                if (collection.encodings.size() < MAX_ENCODINGS_PER_COLLECTION) {
                    collection.encodings.put(key, encoded);
                }
            }
            return encoded;
        }
    }

    /**
     * Renders something else from the collection a scrape would join (the landing page), on the
     * same worker thread as encodings: one map read serves pages and scrapes alike.
     */
    <T> Future<T> render(Function<MetricSnapshots, T> renderer) {
        Future<MetricSnapshots> snapshots;
        synchronized (this) {
            snapshots = joinOrStart().snapshots;
        }
        return snapshots.compose(collected -> worker.executeBlocking(() -> renderer.apply(collected), true));
    }

    /** The running collection, or a new one; caller holds this. */
    private Collection joinOrStart() {
        if (running != null) {
            return running;
        }
        Collection started = new Collection(worker.executeBlocking(collect::get, true));
        running = started;
        // May run at once (a collection already over): hence the local variable, not running, below.
        started.snapshots.onComplete(done -> {
            synchronized (SharedScrape.this) {
                if (running == started) {
                    running = null;
                }
            }
        });
        return started;
    }

    private static Encoded encode(MetricSnapshots snapshots, Key key) throws IOException {
        MetricSnapshots selected = snapshots;
        if (!key.names().isEmpty()) {
            // name[]=... as in client_java's own exporters; names match with or without _total/_info.
            Predicate<String> filter = MetricNameFilter.builder().nameMustBeEqualTo(key.names()).build();
            selected = new MetricSnapshots(snapshots.stream()
                    .filter(snapshot -> filter.test(snapshot.getMetadata().getPrometheusName())).toList());
        }
        Buffer body = Buffer.buffer(16 * 1024);
        OutputStream out = new BufferOutputStream(body);
        if (key.gzip()) {
            try (GZIPOutputStream gzip = new GZIPOutputStream(out, 8192)) {
                key.writer().write(gzip, selected);
            }
        } else {
            key.writer().write(out, selected);
        }
        return new Encoded(key.writer().getContentType(), key.gzip(), offHeap(body));
    }

    /**
     * The body in one direct buffer that every response writes as it is: netty copies a heap buffer into a
     * direct one per write, that is, per client. Freed by the garbage collector, as the ByteBuffer is.
     */
    private static Buffer offHeap(Buffer body) {
        ByteBuffer direct = ByteBuffer.allocateDirect(body.length());
        direct.put(body.getBytes()).flip();
        return BufferInternal.buffer(Unpooled.wrappedBuffer(direct));
    }

    /** Writes straight into the Buffer the responses send, so the body exists once. */
    private static final class BufferOutputStream extends OutputStream {
        private final Buffer buffer;

        BufferOutputStream(Buffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public void write(int b) {
            buffer.appendByte((byte) b);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            buffer.appendBytes(bytes, offset, length);
        }
    }
}
