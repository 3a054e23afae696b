package io.memfdexporter.http;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509KeyManager;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.representer.Representer;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.TrustOptions;

/**
 * {@code --web.config.file}: the Prometheus exporter-toolkit format node_exporter
 * reads, with {@code tls_server_config}, {@code http_server_config.headers} and
 * {@code basic_auth_users}. The file and every file it names are read once, at
 * startup (before privileges are dropped, so keys may be readable by root only);
 * relative paths are relative to the config file's directory. Anything unknown,
 * unsupported or invalid is an error, never ignored.
 */
public final class WebConfig {
    /** No file: plain HTTP, no authentication, no extra headers. */
    public static final WebConfig NONE = new WebConfig(null, Map.of(), Map.of());

    private static final Map<String, ClientAuth> CLIENT_AUTH_TYPES = Map.of(
            "NoClientCert", ClientAuth.NONE,
            "VerifyClientCertIfGiven", ClientAuth.REQUEST,
            "RequireAndVerifyClientCert", ClientAuth.REQUIRED);
    /* exporter-toolkit's types that accept a client certificate without verifying it, which vert.x cannot. */
    private static final Map<String, String> UNVERIFIED_CLIENT_AUTH_TYPES = Map.of(
            "RequestClientCert", "use VerifyClientCertIfGiven",
            "RequireAnyClientCert", "use RequireAndVerifyClientCert");
    /* exporter-toolkit's version names, in order; Java 17 disables TLS 1.0 and 1.1. */
    private static final List<String> VERSIONS = List.of("TLS10", "TLS11", "TLS12", "TLS13");
    private static final Map<String, String> JAVA_PROTOCOLS = Map.of("TLS12", "TLSv1.2", "TLS13", "TLSv1.3");
    /* The headers exporter-toolkit lets a config set, with the values it accepts (empty: any). */
    private static final Map<String, Set<String>> HEADERS = Map.of(
            "Content-Security-Policy", Set.of(),
            "X-Frame-Options", Set.of("deny", "sameorigin"),
            "X-Content-Type-Options", Set.of("nosniff"),
            "X-XSS-Protection", Set.of(),
            "Strict-Transport-Security", Set.of());
    /* $2a$, $2b$ or $2y$ (htpasswd -B), cost 04-31, 22 characters of salt and 31 of hash. */
    private static final Pattern BCRYPT = Pattern.compile("\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[./A-Za-z0-9]{53}");

    /* Far above any web config, key or CA bundle (Mozilla's whole bundle is ~220 KiB); the YAML limit is 1 Mi code points. */
    static final int MAX_FILE_BYTES = 1 << 20;

    private final Tls tls;
    private final Map<String, String> headers;
    private final Map<String, String> users;

    /**
     * Server TLS as vert.x takes it.
     *
     * @param clientCas null unless client certificates are verified
     * @param cipherSuites empty for the Java runtime's defaults
     */
    record Tls(KeyCertOptions certificate, ClientAuth clientAuth, TrustOptions clientCas, Set<String> protocols,
               List<String> cipherSuites) {
    }

    private WebConfig(Tls tls, Map<String, String> headers, Map<String, String> users) {
        this.tls = tls;
        this.headers = headers;
        this.users = users;
    }

    /** @throws WebConfigException naming the file and the problem, on one line */
    public static WebConfig load(Path file) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(readBounded(file))).toString();
        } catch (IOException e) {
            throw new WebConfigException("--web.config.file " + file + ": cannot read it: " + ioProblem(e));
        } catch (FileTooLargeException e) {
            throw new WebConfigException("--web.config.file " + file + ": " + e.getMessage());
        }
        try {
            return parse(text, file.toAbsolutePath().getParent());
        } catch (WebConfigException e) {
            throw new WebConfigException("--web.config.file " + file + ": " + e.getMessage());
        }
    }

    /** Parses a config whose relative paths resolve against {@code directory}. */
    static WebConfig parse(String yaml, Path directory) {
        Section root = Section.of("", loadYaml(yaml));
        root.allowOnly(Set.of("tls_server_config", "http_server_config", "basic_auth_users"), Set.of("rate_limit"));
        Section http = root.section("http_server_config");
        http.allowOnly(Set.of("headers"), Set.of("http2"));
        return new WebConfig(tls(root.section("tls_server_config"), directory), headers(http.section("headers")),
                users(root.section("basic_auth_users")));
    }

    /** null for plain HTTP. */
    Tls tls() {
        return tls;
    }

    /** Headers added to every response. */
    Map<String, String> headers() {
        return headers;
    }

    /** Username to bcrypt hash; empty when no authentication is required. */
    Map<String, String> users() {
        return users;
    }

    /** For the startup log line, e.g. "TLSv1.2+TLSv1.3, client certificates required, basic auth". */
    public String describe() {
        List<String> parts = new ArrayList<>();
        if (tls == null) {
            parts.add("plain HTTP");
        } else {
            parts.add(String.join("+", tls.protocols()));
            if (tls.clientAuth() == ClientAuth.REQUIRED) {
                parts.add("client certificates required");
            } else if (tls.clientAuth() == ClientAuth.REQUEST) {
                parts.add("client certificates verified if given");
            }
        }
        if (!users.isEmpty()) {
            parts.add("basic auth");
        }
        return String.join(", ", parts);
    }

    private static Object loadYaml(String yaml) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setAllowRecursiveKeys(false);
        options.setMaxAliasesForCollections(10);
        options.setCodePointLimit(1 << 20);
        Yaml parser = new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()), new DumperOptions(), options);
        try {
            return parser.load(yaml);
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark();
            throw new WebConfigException("invalid YAML: " + (e.getContext() == null ? "" : e.getContext() + ", ")
                    + e.getProblem() + (mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1)));
        } catch (YAMLException e) {
            throw new WebConfigException("invalid YAML: " + e.getMessage());
        }
    }

    private static Tls tls(Section section, Path directory) {
        section.allowOnly(Set.of("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
                "cipher_suites"), Set.of("cert", "key", "client_ca", "client_allowed_sans", "curve_preferences",
                "prefer_server_cipher_suites"));
        if (section.isEmpty()) {
            return null;
        }
        String certFile = section.requiredString("cert_file");
        String keyFile = section.requiredString("key_file");
        KeyCertOptions certificate = serverCertificate(section, readFile(section, "cert_file", certFile, directory),
                readFile(section, "key_file", keyFile, directory));

        String clientAuthType = section.string("client_auth_type", "NoClientCert");
        if (UNVERIFIED_CLIENT_AUTH_TYPES.containsKey(clientAuthType)) {
            throw section.error("client_auth_type", clientAuthType + " is not supported: vert.x verifies every client"
                    + " certificate it receives, so it cannot accept an unverified one; "
                    + UNVERIFIED_CLIENT_AUTH_TYPES.get(clientAuthType) + " with client_ca_file");
        }
        ClientAuth clientAuth = CLIENT_AUTH_TYPES.get(clientAuthType);
        if (clientAuth == null) {
            throw section.error("client_auth_type", "must be one of NoClientCert, VerifyClientCertIfGiven,"
                    + " RequireAndVerifyClientCert, got '" + clientAuthType + "'");
        }
        String clientCaFile = section.string("client_ca_file", null);
        TrustOptions clientCas = null;
        if (clientAuth == ClientAuth.NONE && clientCaFile != null) {
            throw section.error("client_ca_file", "is set but client_auth_type is NoClientCert: set client_auth_type to"
                    + " VerifyClientCertIfGiven or RequireAndVerifyClientCert");
        }
        if (clientAuth != ClientAuth.NONE) {
            if (clientCaFile == null) {
                throw section.error("client_auth_type", clientAuthType + " needs client_ca_file, the CA certificates"
                        + " that client certificates must be signed by");
            }
            clientCas = clientCas(section, readFile(section, "client_ca_file", clientCaFile, directory));
        }

        int min = version(section, "min_version", "TLS12");
        int max = version(section, "max_version", "TLS13");
        if (min > max) {
            throw section.error("min_version", VERSIONS.get(min) + " is above max_version " + VERSIONS.get(max));
        }
        Set<String> protocols = new LinkedHashSet<>();
        for (int version = min; version <= max; version++) {
            protocols.add(JAVA_PROTOCOLS.get(VERSIONS.get(version)));
        }
        return new Tls(certificate, clientAuth, clientCas, protocols, cipherSuites(section));
    }

    private static byte[] readFile(Section section, String key, String name, Path directory) {
        Path path = directory.resolve(name);
        try {
            return readBounded(path);
        } catch (IOException e) {
            throw section.error(key, "cannot read " + path + ": " + ioProblem(e));
        } catch (FileTooLargeException e) {
            throw section.error(key, path + ": " + e.getMessage());
        }
    }

    /**
     * The whole file, if it is at most {@link #MAX_FILE_BYTES}: checked by size first, and then by reading at most
     * one byte more, so neither a huge file nor an endless one (/dev/zero, a FIFO fed forever) is ever buffered.
     */
    private static byte[] readBounded(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            if (Files.isRegularFile(path) && Files.size(path) > MAX_FILE_BYTES) {
                throw new FileTooLargeException(Files.size(path));
            }
            byte[] bytes = in.readNBytes(MAX_FILE_BYTES + 1);
            if (bytes.length > MAX_FILE_BYTES) {
                throw new FileTooLargeException(-1);
            }
            return bytes;
        }
    }

    /** A file named by the web config (or the config itself) is larger than any real one. */
    private static final class FileTooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FileTooLargeException(long size) {
            super((size < 0 ? "is" : "is " + size + " bytes,") + " larger than the " + (MAX_FILE_BYTES >> 20)
                    + " MiB a web config file, certificate, key or CA file may have");
        }
    }

    /** The key pair vert.x serves; PKCS#8, PKCS#1 (RSA) and SEC1 (EC) keys, like Go's tls package. */
    private static KeyCertOptions serverCertificate(Section section, byte[] cert, byte[] key) {
        List<X509Certificate> chain = certificates(section, "cert_file", cert);
        KeyManagerFactory keyManagers;
        try {
            // With values rather than paths, vert.x reads nothing from the file system here.
            keyManagers = new PemKeyCertOptions().setCertValue(Buffer.buffer(cert)).setKeyValue(Buffer.buffer(key))
                    .getKeyManagerFactory(null);
        } catch (Exception e) {
            throw section.error("key_file", "is not a PEM private key matching cert_file: " + e.getMessage());
        }
        X509KeyManager keyManager = (X509KeyManager) keyManagers.getKeyManagers()[0];
        String[] aliases = keyManager.getServerAliases(chain.get(0).getPublicKey().getAlgorithm(), null);
        PrivateKey privateKey = aliases == null ? null : keyManager.getPrivateKey(aliases[0]);
        if (privateKey == null || !matches(privateKey, chain.get(0))) {
            throw section.error("key_file", "does not match the certificate in cert_file");
        }
        return KeyCertOptions.wrap(keyManagers);
    }

    /** Whether the certificate's public key verifies what the private key signs. */
    private static boolean matches(PrivateKey key, X509Certificate certificate) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return key.getAlgorithm().equals(certificate.getPublicKey().getAlgorithm());
        }
        byte[] probe = "memfd_exporter key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static TrustOptions clientCas(Section section, byte[] pem) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int index = 0;
            for (X509Certificate ca : certificates(section, "client_ca_file", pem)) {
                store.setCertificateEntry("ca-" + index++, ca);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            return TrustOptions.wrap(trust);
        } catch (GeneralSecurityException | IOException e) {
            throw section.error("client_ca_file", "cannot be used as trust anchors: " + e.getMessage());
        }
    }

    private static List<X509Certificate> certificates(Section section, String key, byte[] pem) {
        if (!new String(pem, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
            throw section.error(key, "contains no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        Collection<? extends Certificate> parsed;
        try {
            parsed = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
        } catch (CertificateException e) {
            throw section.error(key, "is not a valid PEM certificate: " + e.getMessage());
        }
        return parsed.stream().map(X509Certificate.class::cast).toList();
    }

    private static int version(Section section, String key, String defaultVersion) {
        String name = section.string(key, defaultVersion);
        int index = VERSIONS.indexOf(name);
        if (index < 0) {
            throw section.error(key, "must be TLS12 or TLS13, got '" + name + "'");
        }
        if (!JAVA_PROTOCOLS.containsKey(name)) {
            throw section.error(key, name + " is not supported: Java disables TLS 1.0 and 1.1; use TLS12 or TLS13");
        }
        return index;
    }

    /**
     * cipher_suites restricts TLS 1.2 only, as in Go: TLS 1.3's suites stay enabled.
     * Names are IANA's (as Go's and Java's are); Go's older CHACHA20_POLY1305 names without _SHA256 are accepted.
     */
    private static List<String> cipherSuites(Section section) {
        List<String> names = section.strings("cipher_suites");
        if (names.isEmpty()) {
            return List.of();
        }
        Set<String> available;
        try {
            available = new TreeSet<>(Arrays.asList(SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the Java runtime has no default TLS context", e);
        }
        available.remove("TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
        Set<String> suites = new LinkedHashSet<>();
        for (String name : names) {
            String javaName = name.endsWith("_CHACHA20_POLY1305") ? name + "_SHA256" : name;
            if (!available.contains(javaName)) {
                throw section.error("cipher_suites", name + " is not available in this Java runtime; available: "
                        + available.stream().filter(suite -> suite.contains("_WITH_")).collect(Collectors.joining(", ")));
            }
            suites.add(javaName);
        }
        available.stream().filter(suite -> !suite.contains("_WITH_")).forEach(suites::add);
        return List.copyOf(suites);
    }

    private static Map<String, String> headers(Section section) {
        section.allowOnly(HEADERS.keySet(), Set.of());
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : section.keys()) {
            String value = section.requiredString(name);
            Set<String> allowed = HEADERS.get(name);
            if (!allowed.isEmpty() && !allowed.contains(value.toLowerCase(Locale.ROOT))) {
                throw section.error(name, "must be one of " + String.join(", ", new TreeSet<>(allowed)) + ", got '" + value + "'");
            }
            if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw section.error(name, "must not contain control characters");
            }
            headers.put(name, value);
        }
        return Map.copyOf(headers);
    }

    private static Map<String, String> users(Section section) {
        Map<String, String> users = new LinkedHashMap<>();
        for (String user : section.keys()) {
            if (user.isEmpty() || user.contains(":")) {
                throw section.error(user, "is not a valid username: it must be non-empty and contain no ':'"
                        + " (basic auth splits at the first ':')");
            }
            String hash = section.requiredString(user);
            if (!BCRYPT.matcher(hash).matches()) {
                throw section.error(user, "is not a bcrypt hash ($2a$, $2b$ or $2y$; make one with: " + htpasswd(10) + ")");
            }
            int cost = Integer.parseInt(hash.substring(4, 6));
            Duration check = BcryptCost.checkTime(cost);
            if (check.compareTo(BcryptCost.MAX_CHECK) > 0) {
                int usable = BcryptCost.maxUsableCost();
                throw section.error(user, "has bcrypt cost " + cost + ": one check would take about "
                        + BcryptCost.describe(check) + " on this machine, more than the " + BcryptCost.describe(BcryptCost.MAX_CHECK)
                        + " allowed (checks run one at a time and Prometheus gives up a scrape after 10 s by default); "
                        + (usable < BcryptCost.MIN ? "this machine is too slow for bcrypt"
                                : "use cost " + usable + " or less, e.g. " + htpasswd(Math.min(10, usable))));
            }
            users.put(user, hash);
        }
        return Map.copyOf(users);
    }

    private static String htpasswd(int cost) {
        return "htpasswd -nBC " + cost + " \"\" | tr -d ':\\n'";
    }

    private static String ioProblem(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof CharacterCodingException) {
            return "not UTF-8 text";
        }
        return e.getMessage();
    }

    /** One mapping of the YAML document, with its dotted path for error messages. */
    private static final class Section {
        private final String path;
        private final Map<?, ?> map;

        private Section(String path, Map<?, ?> map) {
            this.path = path;
            this.map = map;
        }

        static Section of(String path, Object value) {
            if (value == null) {
                return new Section(path, Map.of());
            }
            if (!(value instanceof Map<?, ?> map)) {
                throw new WebConfigException((path.isEmpty() ? "the document" : path) + " must be a mapping");
            }
            for (Object key : map.keySet()) {
                if (!(key instanceof String)) {
                    throw new WebConfigException(qualified(path, String.valueOf(key)) + ": keys must be strings (quote it)");
                }
            }
            return new Section(path, map);
        }

        boolean isEmpty() {
            return map.isEmpty();
        }

        List<String> keys() {
            return map.keySet().stream().map(String.class::cast).toList();
        }

        void allowOnly(Set<String> known, Set<String> unsupported) {
            for (String key : keys()) {
                if (unsupported.contains(key)) {
                    throw error(key, "is not supported by memfd_exporter");
                }
                if (!known.contains(key)) {
                    throw new WebConfigException("unknown key " + qualified(path, key) + " (known: "
                            + String.join(", ", new TreeSet<>(known)) + ")");
                }
            }
        }

        Section section(String key) {
            return Section.of(qualified(path, key), map.get(key));
        }

        String string(String key, String defaultValue) {
            Object value = map.get(key);
            if (value == null) {
                return defaultValue;
            }
            if (!(value instanceof String text)) {
                throw error(key, "must be a string, got " + value);
            }
            return text;
        }

        String requiredString(String key) {
            String value = string(key, null);
            if (value == null || value.isEmpty()) {
                throw error(key, "is required");
            }
            return value;
        }

        List<String> strings(String key) {
            Object value = map.get(key);
            if (value == null) {
                return List.of();
            }
            if (!(value instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
                throw error(key, "must be a list of strings");
            }
            return list.stream().map(String.class::cast).toList();
        }

        WebConfigException error(String key, String problem) {
            return new WebConfigException(qualified(path, key) + " " + problem);
        }

        private static String qualified(String path, String key) {
            return path.isEmpty() ? key : path + "." + key;
        }
    }
}
