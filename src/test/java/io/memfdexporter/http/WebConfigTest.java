package io.memfdexporter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.memfdexporter.testing.TestCertificates;
import io.vertx.core.http.ClientAuth;

/** --web.config.file parsing: what node_exporter users write works; anything else is one clear error line. */
class WebConfigTest {
    /* bcrypt("secret"), cost 4 */
    static final String HASH = "$2a$04$Lb21UeeBQaVgi6HH8cwAueBH39M9ITih9X6PHtrqk6Xbmn6IUH06q";

    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() {
        TestCertificates.writeTo(dir);
        TestCertificates.writePem(dir.resolve("other-key.pem"), TestCertificates.newKeyPair().getPrivate());
    }

    private static WebConfig parse(String yaml) {
        return WebConfig.parse(yaml, dir);
    }

    @Test
    void readsEverySupportedKey() {
        WebConfig config = parse("""
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  client_auth_type: RequireAndVerifyClientCert
                  client_ca_file: ca.pem
                  min_version: TLS12
                  max_version: TLS13
                  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]
                http_server_config:
                  headers:
                    X-Frame-Options: Deny
                    Strict-Transport-Security: max-age=31536000
                basic_auth_users:
                  alice: %s
                """.formatted(HASH));
        WebConfig.Tls tls = config.tls();
        assertEquals(ClientAuth.REQUIRED, tls.clientAuth());
        assertTrue(tls.clientCas() != null);
        assertEquals(Set.of("TLSv1.2", "TLSv1.3"), tls.protocols());
        // Go's name without _SHA256 is accepted; TLS 1.3's suites stay on, as cipher_suites is about TLS 1.2 only.
        assertEquals(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
                tls.cipherSuites().subList(0, 2));
        assertTrue(tls.cipherSuites().contains("TLS_AES_128_GCM_SHA256"), tls.cipherSuites().toString());
        assertEquals(Map.of("X-Frame-Options", "Deny", "Strict-Transport-Security", "max-age=31536000"), config.headers());
        assertEquals(Map.of("alice", HASH), config.users());
        assertEquals("TLSv1.2+TLSv1.3, client certificates required, basic auth", config.describe());
    }

    @Test
    void anEmptyFileOrEmptySectionsMeanPlainHttpWithoutAuth() {
        for (String yaml : new String[] {"", "tls_server_config:\nbasic_auth_users:\nhttp_server_config:\n  headers:\n"}) {
            WebConfig config = parse(yaml);
            assertNull(config.tls());
            assertTrue(config.users().isEmpty());
            assertTrue(config.headers().isEmpty());
            assertEquals("plain HTTP", config.describe());
        }
    }

    @Test
    void defaultsAreTls12To13WithoutClientCertificates() {
        WebConfig.Tls tls = parse("tls_server_config: {cert_file: server.pem, key_file: server-key.pem}").tls();
        assertEquals(ClientAuth.NONE, tls.clientAuth());
        assertNull(tls.clientCas());
        assertEquals(Set.of("TLSv1.2", "TLSv1.3"), tls.protocols());
        assertTrue(tls.cipherSuites().isEmpty(), "the Java runtime's defaults");
    }

    @Test
    void relativePathsAreRelativeToTheConfigFilesDirectory() throws Exception {
        Path configDir = Files.createDirectories(dir.resolve("conf"));
        Path file = Files.writeString(configDir.resolve("web.yml"), """
                tls_server_config:
                  cert_file: ../server.pem
                  key_file: %s
                  client_auth_type: VerifyClientCertIfGiven
                  client_ca_file: ../ca.pem
                  min_version: TLS13
                """.formatted(dir.resolve("server-key.pem")));
        WebConfig.Tls tls = WebConfig.load(file).tls();
        assertEquals(ClientAuth.REQUEST, tls.clientAuth());
        assertEquals(Set.of("TLSv1.3"), tls.protocols());
    }

    @Test
    void theDocumentedExampleIsValid() throws Exception {
        String page = Files.readString(Path.of("docs", "http.md"));
        int start = page.indexOf("```yaml\n", page.indexOf("## TLS, client certificates and basic auth")) + "```yaml\n".length();
        String example = page.substring(start, page.indexOf("```", start));
        Path exampleDir = Files.createDirectories(dir.resolve("example"));
        Files.copy(dir.resolve("server.pem"), exampleDir.resolve("server.crt"));
        Files.copy(dir.resolve("server-key.pem"), exampleDir.resolve("server.key"));
        Files.copy(dir.resolve("ca.pem"), exampleDir.resolve("clients-ca.crt"));
        WebConfig config = WebConfig.parse(example, exampleDir);
        assertEquals("TLSv1.2+TLSv1.3, client certificates required, basic auth", config.describe());
        assertEquals(Set.of("prometheus"), config.users().keySet());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "foo: 1 | unknown key foo (known: basic_auth_users, http_server_config, tls_server_config)",
        "tls_server_config: {cert_fil: x} | unknown key tls_server_config.cert_fil (known: cert_file, cipher_suites,",
        "rate_limit: {interval: 1s} | rate_limit is not supported by memfd_exporter",
        "http_server_config: {http2: true} | http_server_config.http2 is not supported by memfd_exporter",
        "tls_server_config: {cert_file: server.pem, curve_preferences: [X25519]} | tls_server_config.curve_preferences is not supported",
        "tls_server_config: {key_file: server-key.pem} | tls_server_config.cert_file is required",
        "tls_server_config: {cert_file: server.pem} | tls_server_config.key_file is required",
        "tls_server_config: {cert_file: nothere.pem, key_file: server-key.pem} | tls_server_config.cert_file cannot read ",
        "tls_server_config: {cert_file: server-key.pem, key_file: server-key.pem} | tls_server_config.cert_file contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
        "tls_server_config: {cert_file: server.pem, key_file: ca.pem} | tls_server_config.key_file is not a PEM private key matching cert_file",
        "tls_server_config: {cert_file: server.pem, key_file: other-key.pem} | tls_server_config.key_file does not match the certificate in cert_file",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, client_auth_type: Sometimes} | tls_server_config.client_auth_type must be one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert, got 'Sometimes'",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, client_auth_type: RequestClientCert, client_ca_file: ca.pem} | tls_server_config.client_auth_type RequestClientCert is not supported: vert.x verifies every client certificate",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, client_auth_type: RequireAnyClientCert} | tls_server_config.client_auth_type RequireAnyClientCert is not supported: ",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, client_auth_type: RequireAndVerifyClientCert} | tls_server_config.client_auth_type RequireAndVerifyClientCert needs client_ca_file",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, client_ca_file: ca.pem} | tls_server_config.client_ca_file is set but client_auth_type is NoClientCert",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, client_auth_type: VerifyClientCertIfGiven, client_ca_file: server-key.pem} | tls_server_config.client_ca_file contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, min_version: TLS10} | tls_server_config.min_version TLS10 is not supported: Java disables TLS 1.0 and 1.1",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, max_version: TLS14} | tls_server_config.max_version must be TLS12 or TLS13, got 'TLS14'",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, min_version: TLS13, max_version: TLS12} | tls_server_config.min_version TLS13 is above max_version TLS12",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, cipher_suites: [TLS_FAST_AND_LOOSE]} | tls_server_config.cipher_suites TLS_FAST_AND_LOOSE is not available in this Java runtime; available: TLS_",
        "tls_server_config: {cert_file: server.pem, key_file: server-key.pem, cipher_suites: TLS_AES_128_GCM_SHA256} | tls_server_config.cipher_suites must be a list of strings",
        "tls_server_config: {cert_file: 7, key_file: server-key.pem} | tls_server_config.cert_file must be a string, got 7",
        "http_server_config: {headers: {Server: nginx}} | unknown key http_server_config.headers.Server (known: Content-Security-Policy,",
        "http_server_config: {headers: {X-Frame-Options: allow}} | http_server_config.headers.X-Frame-Options must be one of deny, sameorigin, got 'allow'",
        "http_server_config: {headers: {X-Content-Type-Options: sniff}} | http_server_config.headers.X-Content-Type-Options must be one of nosniff, got 'sniff'",
        "http_server_config: {headers: {Content-Security-Policy: \"a\\nb\"}} | http_server_config.headers.Content-Security-Policy must not contain control characters",
        "basic_auth_users: {alice: secret} | basic_auth_users.alice is not a bcrypt hash",
        "basic_auth_users: {\"a:b\": x} | basic_auth_users.a:b is not a valid username: it must be non-empty and contain no ':'",
        "basic_auth_users: {123: x} | basic_auth_users.123: keys must be strings (quote it)",
        "basic_auth_users: [alice] | basic_auth_users must be a mapping",
        "- tls_server_config | the document must be a mapping",
        "tls_server_config: [ | invalid YAML: ",
        "basic_auth_users: {alice: x, alice: y} | invalid YAML: ",
    })
    void rejectsWithOneLineNamingTheKey(String yaml, String message) {
        WebConfigException e = assertThrows(WebConfigException.class, () -> parse(yaml));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void duplicateKeysAndYamlErrorsSayWhere() {
        WebConfigException duplicate = assertThrows(WebConfigException.class,
                () -> parse("basic_auth_users:\n  alice: x\n  alice: y\n"));
        assertEquals("invalid YAML: while constructing a mapping, found duplicate key alice at line 3, column 3",
                duplicate.getMessage());
    }

    @Test
    void loadNamesTheFile() throws Exception {
        Path missing = dir.resolve("missing.yml");
        assertEquals("--web.config.file " + missing + ": cannot read it: no such file",
                assertThrows(WebConfigException.class, () -> WebConfig.load(missing)).getMessage());
        Path bad = Files.writeString(dir.resolve("bad.yml"), "basic_auth_users: {bob: hunter2}\n");
        assertEquals("--web.config.file " + bad + ": basic_auth_users.bob is not a bcrypt hash ($2a$, $2b$ or $2y$;"
                + " make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')", assertThrows(WebConfigException.class, () -> WebConfig.load(bad)).getMessage());
    }

    @Test
    void namedFilesThatNeverEndOrExceedTheLimitAreRefusedUnread() throws Exception {
        // /dev/zero has size 0 and no end: only the bounded read stops it.
        WebConfigException endless = assertThrows(WebConfigException.class,
                () -> parse("tls_server_config: {cert_file: server.pem, key_file: /dev/zero}"));
        assertEquals("tls_server_config.key_file /dev/zero: is larger than the 1 MiB a web config file, certificate, key"
                + " or CA file may have", endless.getMessage());
        Path justOver = dir.resolve("ca-over.pem");
        Files.write(justOver, new byte[WebConfig.MAX_FILE_BYTES + 1]);
        WebConfigException over = assertThrows(WebConfigException.class, () -> parse("tls_server_config: {cert_file: server.pem,"
                + " key_file: server-key.pem, client_auth_type: RequireAndVerifyClientCert, client_ca_file: ca-over.pem}"));
        assertEquals("tls_server_config.client_ca_file " + justOver + ": is 1048577 bytes, larger than the 1 MiB a web"
                + " config file, certificate, key or CA file may have", over.getMessage());
    }
}
