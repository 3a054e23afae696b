package io.memfdexporter.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made for one test run: a CA, a server certificate for
 * 127.0.0.1/localhost, a client certificate from the same CA, and a client
 * certificate from another ("rogue") CA. PEM files go to a directory; clients
 * are built from the same objects.
 */
public final class TestCertificates {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    /** A key pair and its certificate. */
    public record Identity(KeyPair keys, X509Certificate certificate) {
    }

    private final Identity ca;
    private final Identity client;
    private final Identity rogueClient;

    private TestCertificates(Identity ca, Identity client, Identity rogueClient) {
        this.ca = ca;
        this.client = client;
        this.rogueClient = rogueClient;
    }

    /**
     * Makes the certificates and writes ca.pem, server.pem and server-key.pem into {@code dir}.
     */
    public static TestCertificates writeTo(Path dir) {
        Identity ca = selfSignedCa("memfd_exporter test CA");
        Identity server = issue(ca, "127.0.0.1", true);
        writePem(dir.resolve("ca.pem"), ca.certificate());
        writePem(dir.resolve("server.pem"), server.certificate());
        writePem(dir.resolve("server-key.pem"), server.keys().getPrivate());
        return new TestCertificates(ca, issue(ca, "prometheus", false), issue(selfSignedCa("rogue CA"), "intruder", false));
    }

    public Identity client() {
        return client;
    }

    public Identity rogueClient() {
        return rogueClient;
    }

    /** An HTTP/1.1 client trusting the test CA, presenting {@code identity} (null: none), limited to {@code protocols}. */
    public HttpClient client(Identity identity, String... protocols) {
        try {
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("ca", ca.certificate());
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            KeyStore own = KeyStore.getInstance("PKCS12");
            own.load(null, null);
            if (identity != null) {
                own.setKeyEntry("client", identity.keys().getPrivate(), new char[0],
                        new X509Certificate[] {identity.certificate()});
            }
            keys.init(own, new char[0]);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            SSLParameters parameters = context.getDefaultSSLParameters();
            if (protocols.length > 0) {
                parameters.setProtocols(protocols);
            }
            return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(context).sslParameters(parameters)
                    .connectTimeout(Duration.ofSeconds(5)).build();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A PEM file of a certificate, or of a private key in PKCS#8 ("PRIVATE KEY"). */
    public static void writePem(Path file, Object object) {
        StringWriter text = new StringWriter();
        try {
            try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
                writer.writeObject(object instanceof PrivateKey key ? new JcaPKCS8Generator(key, null) : object);
            }
            Files.writeString(file, text.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fresh P-256 key pair. */
    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Identity selfSignedCa(String name) {
        KeyPair keys = newKeyPair();
        X500Name subject = new X500Name("CN=" + name);
        return new Identity(keys, sign(builder(subject, subject, keys), keys, cert -> {
            cert.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            cert.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }));
    }

    private static Identity issue(Identity issuer, String commonName, boolean server) {
        KeyPair keys = newKeyPair();
        X500Name issuerName = new X500Name(issuer.certificate().getSubjectX500Principal().getName());
        return new Identity(keys, sign(builder(issuerName, new X500Name("CN=" + commonName), keys), issuer.keys(), cert -> {
            cert.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            cert.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            cert.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
            if (server) {
                cert.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
            }
        }));
    }

    private interface Extensions {
        void addTo(X509v3CertificateBuilder builder) throws CertIOException;
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))), subject, keys.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer, Extensions extensions) {
        try {
            extensions.addTo(builder);
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
        } catch (CertIOException | OperatorCreationException | java.security.cert.CertificateException e) {
            throw new IllegalStateException(e);
        }
    }
}
