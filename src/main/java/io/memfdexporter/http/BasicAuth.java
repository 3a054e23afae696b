package io.memfdexporter.http;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.springframework.security.crypto.bcrypt.BCrypt;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code basic_auth_users}: a request passes only with a listed user and a
 * password matching its bcrypt hash; otherwise 401 with a Basic challenge.
 * <p>
 * bcrypt is slow on purpose (a cost-10 check takes 50-100 ms here), so:
 * <ul>
 * <li>a verified password is remembered, per user, as an HMAC under a key that
 * exists only in this process: later requests with it cost one HMAC, before
 * any queue or limit;</li>
 * <li>other passwords are checked one at a time, on one thread, in the
 * {@link BcryptQueue}, which serves client groups and addresses in turn: a
 * flood of wrong passwords costs at most one core, and delays the first check
 * of a client elsewhere by one check per flooding group, not by the flood's
 * length. Wrong passwords are never remembered (an attacker would vary them);</li>
 * <li>what the queue refuses gets 429 after {@link Refusal#DELAY_MILLIS}, so
 * that a client retrying at once cannot turn refusals into a busy loop;</li>
 * <li>an unknown user costs a bcrypt check too, so response times do not tell
 * which users exist; comparisons use {@link MessageDigest#isEqual}.</li>
 * </ul>
 */
final class BasicAuth implements Handler<RoutingContext> {
    private static final String CHALLENGE = "Basic realm=\"memfd_exporter\", charset=\"UTF-8\"";
    private static final String HMAC = "HmacSHA256";
    private static final Logger LOG = Logger.getLogger(BasicAuth.class.getName());

    private final Map<String, String> hashes;
    /* Checked for unknown users, so that they cost what a known user costs. */
    private final String decoyHash;
    private final BcryptQueue queue;
    private final SecretKeySpec fingerprintKey;
    private final Map<String, byte[]> verified = new ConcurrentHashMap<>();

    /**
     * @param hashes username to bcrypt hash, not empty
     * @param bcrypt a single-thread worker for the bcrypt checks
     */
    BasicAuth(Map<String, String> hashes, WorkerExecutor bcrypt) {
        this.hashes = Map.copyOf(hashes);
        this.decoyHash = hashes.values().iterator().next();
        this.queue = new BcryptQueue(check -> bcrypt.executeBlocking(() -> {
            check.run();
            return null;
        }, false));
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        this.fingerprintKey = new SecretKeySpec(key, HMAC);
    }

    private record Credentials(String user, byte[] password) {
    }

    @Override
    public void handle(RoutingContext ctx) {
        Credentials presented = parse(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
        if (presented == null) {
            reject(ctx);
            return;
        }
        byte[] fingerprint = fingerprint(presented);
        byte[] remembered = verified.get(presented.user());
        if (remembered != null && MessageDigest.isEqual(remembered, fingerprint)) {
            ctx.next();
            return;
        }
        SocketAddress remote = ctx.request().remoteAddress();
        Context context = Vertx.currentContext();
        queue.submit(remote == null ? null : remote.hostAddress(), fingerprint, () -> {
            boolean matches = matches(presented);
            if (matches) {
                verified.put(presented.user(), fingerprint); // even if this client has gone away meanwhile
            }
            return matches;
        }, outcome -> context.runOnContext(v -> answer(ctx, outcome, presented.user())));
    }

    private static void answer(RoutingContext ctx, BcryptQueue.Outcome outcome, String user) {
        if (ctx.response().closed()) {
            return; // the client gave up waiting
        }
        switch (outcome) {
            case MATCH -> ctx.next();
            case MISMATCH -> {
                LOG.fine(() -> "basic auth failed for user " + user + " from " + ctx.request().remoteAddress());
                reject(ctx);
            }
            case REFUSED -> Refusal.answerLater(ctx, 429, "Too many authentication attempts\n");
        }
    }

    private boolean matches(Credentials presented) {
        String hash = hashes.get(presented.user());
        boolean matches = BCrypt.checkpw(presented.password(), hash == null ? decoyHash : hash);
        return hash != null && matches;
    }

    private static void reject(RoutingContext ctx) {
        ctx.response().setStatusCode(401).putHeader("WWW-Authenticate", CHALLENGE)
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8").end("Unauthorized\n");
    }

    /** user and password of an {@code Authorization: Basic} header (RFC 7617, UTF-8); null if absent or malformed. */
    private static Credentials parse(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(authorization.substring(6).trim());
        } catch (IllegalArgumentException e) {
            return null;
        }
        for (int i = 0; i < decoded.length; i++) {
            if (decoded[i] == ':') {
                return new Credentials(new String(decoded, 0, i, StandardCharsets.UTF_8),
                        Arrays.copyOfRange(decoded, i + 1, decoded.length));
            }
        }
        return null;
    }

    private byte[] fingerprint(Credentials credentials) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(fingerprintKey);
            mac.update(credentials.user().getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            return mac.doFinal(credentials.password());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(HMAC + " is part of every Java runtime", e);
        }
    }
}
