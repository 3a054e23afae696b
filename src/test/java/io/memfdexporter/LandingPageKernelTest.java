package io.memfdexporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.probe.ExecProbe;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.RequiresBpf;
import io.memfdexporter.testing.Tool;

/**
 * The landing page of a real exporter as headless Chromium renders it: a thread whose comm is
 * hostile HTML (a script tag, both quotes, an ampersand and a byte that is not UTF-8) makes real
 * memfd_create calls, and the page must show that comm as text, with its exact count, and run
 * nothing.
 */
@ExtendWith(RequiresBpf.class)
class LandingPageKernelTest {
    /** 12 bytes: {@code <script>"'&} and 0xfe. */
    private static final byte[] HOSTILE_COMM = {'<', 's', 'c', 'r', 'i', 'p', 't', '>', '"', '\'', '&', (byte) 0xfe};
    /** Enough to stay in the top 10 while other tests make their own calls. */
    private static final int CALLS = 50_000;

    @Test
    void showsStatusAndTheHostileCommAsTextInChromium(@TempDir Path profile) throws Exception {
        try (Exporter exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)))) {
            CommThreads.runAs(HOSTILE_COMM, CommThreads.calls(CALLS, 0));
            String url = "http://127.0.0.1:" + exporter.port() + "/";

            // What the server sends: every special character escaped, and a policy that forbids scripts anyway.
            var response = Http.get(exporter.port(), "/", null);
            assertEquals(200, response.statusCode());
            assertEquals("text/html; charset=utf-8", response.headers().firstValue("Content-Type").orElse(""));
            assertTrue(response.headers().firstValue("Content-Security-Policy").orElse("").startsWith("default-src 'none'"),
                    response.headers().toString());
            String html = Http.strictUtf8(response.body());
            assertTrue(html.contains("<td>&lt;script&gt;&quot;&#39;&amp;\\xfe</td><td class=\"n\">" + CALLS + "</td>"), html);
            assertFalse(html.toLowerCase(Locale.ROOT).contains("<script"), html);

            // What a browser makes of it: the DOM after parsing (and after any script would have run).
            Tool.Result dump = Tool.CHROMIUM.run(chromium(profile, "--dump-dom", url));
            assertEquals(0, dump.exitCode(), dump.output());
            Matcher document = Pattern.compile("(?s)<html.*</html>").matcher(dump.output());
            assertTrue(document.find(), dump.output());
            String dom = document.group();
            assertFalse(dom.toLowerCase(Locale.ROOT).contains("<script"), "a script element was parsed: " + dom);
            // Serialized text: <, > and & escaped, quotes as they are.
            String comm = "&lt;script&gt;\"'&amp;\\xfe";
            assertTrue(dom.contains("<td>" + comm + "</td><td class=\"n\">" + CALLS + "</td>"), dom);
            assertEquals(1, dom.split(Pattern.quote(comm), -1).length - 1, "the comm appears once, as text: " + dom);

            assertEquals(BuildInfo.exporterVersion(), statusRow(dom, "Version").split(" ")[0], dom);
            assertEquals(System.getProperty("os.version"), statusRow(dom, "Kernel"), dom);
            assertEquals("attached", statusRow(dom, "BPF programs"), dom);
            String program = ExecProbe.CommSource.forThisKernel() == ExecProbe.CommSource.PREPARE_EXEC
                    ? "sched_prepare_exec" : "syscall stash";
            assertTrue(statusRow(dom, "Exec probe").startsWith(program), dom);
            // Tests run as root with every capability (RequiresBpf), and the page reads them now.
            String privileges = statusRow(dom, "Privileges");
            assertTrue(privileges.startsWith("uid 0 (real, effective, saved, fs: 0, 0, 0, 0)"), privileges);
            assertTrue(privileges.contains("CAP_BPF"), privileges);
            assertTrue(statusRow(dom, "Live scan").matches("last completed [0-9.]+ s ago, took [0-9.]+ s|no scan completed yet"),
                    dom);
            assertTrue(dom.contains("<tr><td>calls_by_comm</td>"), dom);
            assertTrue(dom.contains("<tr><td>memfd</td><td>ok</td>"), dom);
            assertTrue(dom.contains("<a href=\"/metrics\">Metrics</a>"), dom);

            // And as pixels: a screenshot of the page at the requested size (target/ keeps it to look at).
            Path png = Path.of(System.getProperty("basedir", "."), "target", "landing-page.png").toAbsolutePath();
            Files.deleteIfExists(png);
            Tool.Result shot = Tool.CHROMIUM.run(chromium(profile, "--screenshot=" + png, "--window-size=1200,800", url));
            assertEquals(0, shot.exitCode(), shot.output());
            ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(png), 0, 24);
            assertEquals(0x89504e47, header.getInt(0), "PNG signature");
            assertEquals(1200, header.getInt(16), "PNG width");
            assertEquals(800, header.getInt(20), "PNG height");
        }
    }

    /** The text of the status table's row {@code name}, entities decoded. */
    private static String statusRow(String dom, String name) {
        Matcher row = Pattern.compile("<tr><th>" + Pattern.quote(name) + "</th><td>([^<]*)</td></tr>").matcher(dom);
        assertTrue(row.find(), "no status row " + name + ": " + dom);
        return row.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    }

    /** Chromium's headless flags that work here (PLATFORM-NOTES.md): no sandbox as root, nothing from the network. */
    private static String[] chromium(Path profile, String... args) {
        String[] flags = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile};
        String[] all = new String[flags.length + args.length];
        System.arraycopy(flags, 0, all, 0, flags.length);
        System.arraycopy(args, 0, all, flags.length, args.length);
        return all;
    }
}
