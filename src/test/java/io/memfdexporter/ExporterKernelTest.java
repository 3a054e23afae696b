package io.memfdexporter;

import static io.memfdexporter.testing.CommThreads.calls;
import static io.memfdexporter.testing.CommThreads.uniqueComm;
import static io.memfdexporter.testing.TestLibC.MFD_ALLOW_SEALING;
import static io.memfdexporter.testing.TestLibC.MFD_CLOEXEC;
import static io.memfdexporter.testing.TestLibC.MFD_EXEC;
import static io.memfdexporter.testing.TestLibC.MFD_NOEXEC_SEAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.testing.CommThreads;
import io.memfdexporter.testing.CommThreads.Task;
import io.memfdexporter.testing.Exposition;
import io.memfdexporter.testing.Http;
import io.memfdexporter.testing.Python;
import io.memfdexporter.testing.TestLibC;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_36_2.Metrics;

/**
 * The whole exporter against the real kernel: real memfd_create calls, real
 * HTTP scrapes, exact counts. Host-wide series (per flags) are checked with
 * flag combinations other software does not use, so the counts stay exact on
 * a busy host; the observed totals are checked in MapFullKernelTest.
 */
@ExtendWith(io.memfdexporter.testing.RequiresBpf.class)
class ExporterKernelTest {
    private static final String CALLS = "memfd_create_calls_total";
    private static final String BY_FLAGS = "memfd_create_calls_by_flags_total";
    private static final String FAILURES = "memfd_create_failures_total";
    private static final String OBSERVED = "memfd_create_observed_calls_total";

    private static Exporter exporter;

    @BeforeAll
    static void start() {
        exporter = Exporter.start(Exporter.Config.listeningOn(new ListenAddress("127.0.0.1", 0)));
    }

    @AfterAll
    static void stop() {
        if (exporter != null) {
            exporter.close();
        }
    }

    private static Exposition scrape() {
        return Http.scrape(exporter.port());
    }

    @Test
    void countsCallsPerCommAndPerFlagsExactly() {
        Assumptions.assumeTrue(TestLibC.hasNoexecSeal(), TestLibC.NO_NOEXEC_SEAL);
        String comm = uniqueComm("mfdcf");
        Exposition before = scrape();
        CommThreads.runAs(comm, () -> {
            calls(123, MFD_CLOEXEC | MFD_NOEXEC_SEAL).run(); // a combination other software rarely uses
            calls(7, MFD_ALLOW_SEALING | MFD_EXEC).run();
        });
        Exposition after = scrape();

        assertEquals(130, after.value(CALLS, "comm", comm));
        assertEquals(123, delta(before, after, BY_FLAGS, "flags", "MFD_CLOEXEC|MFD_NOEXEC_SEAL"));
        assertEquals(7, delta(before, after, BY_FLAGS, "flags", "MFD_ALLOW_SEALING|MFD_EXEC"));
    }

    @Test
    void countsFailuresByErrnoAndInvalidFlagsUnderOneKey() {
        String comm = uniqueComm("mfderr");
        Exposition before = scrape();
        List<Integer> errnos = new ArrayList<>();
        CommThreads.runAs(comm, () -> {
            for (int i = 0; i < 5; i++) {
                errnos.add(TestLibC.memfdCreateAndClose("t", 0x20)); // undefined bit
            }
            for (int i = 0; i < 4; i++) {
                errnos.add(TestLibC.memfdCreateAndClose("t", 0x40 | (1 << 25) | MFD_CLOEXEC)); // other undefined bits
            }
            String tooLong = "n".repeat(250); // the kernel allows 249 bytes of name
            for (int i = 0; i < 3; i++) {
                errnos.add(TestLibC.memfdCreateAndClose(tooLong, MFD_CLOEXEC | MFD_EXEC));
            }
        });
        Exposition after = scrape();

        assertEquals(List.of(22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22), errnos, "all calls fail with EINVAL");
        assertEquals(12, after.value(FAILURES, "comm", comm, "errno", "EINVAL"));
        assertEquals(12, after.value(CALLS, "comm", comm));
        assertEquals(9, delta(before, after, BY_FLAGS, "flags", "invalid"));
        assertEquals(3, delta(before, after, BY_FLAGS, "flags", "MFD_CLOEXEC|MFD_EXEC"));
        assertEquals(12, delta(before, after, "memfd_create_observed_failures_total"));
    }

    @Test
    void decodesFlagsAsTheKernelDoesIgnoringTheRegistersHigh32Bits() throws Exception {
        Assumptions.assumeTrue(TestLibC.hasNoexecSeal(), TestLibC.NO_NOEXEC_SEAL);
        Python python = Python.named(uniqueComm("mfdhigh"));
        Exposition before = scrape();
        // memfd_create's flags parameter is an unsigned int: through syscall(2) a caller can set the
        // register's high bits, which the kernel drops. Prints the errno of each call, 0 for success.
        Python.Result result = python.run("""
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                libc.syscall.restype = ctypes.c_long
                def call(flags):
                    fd = libc.syscall(ctypes.c_long(319), b'high', ctypes.c_ulong(flags))  # __NR_memfd_create
                    if fd < 0:
                        return ctypes.get_errno()
                    libc.close(ctypes.c_int(fd))
                    return 0
                print(*[call(0x1_0000_0001) for _ in range(8)],
                      *[call(0xffff_ffff_0000_0013) for _ in range(8)],
                      *[call(0x1_0000_0020) for _ in range(3)])  # an undefined bit in the low 32
                """);
        Exposition after = scrape();

        assertEquals("0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 22 22 22", result.stdout().strip());
        assertEquals(19, after.value(CALLS, "comm", python.comm()));
        assertEquals(3, after.value(FAILURES, "comm", python.comm(), "errno", "EINVAL"));
        assertEquals(8, delta(before, after, BY_FLAGS, "flags", "MFD_CLOEXEC"));
        assertEquals(8, delta(before, after, BY_FLAGS, "flags", "MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_EXEC"));
        assertEquals(3, delta(before, after, BY_FLAGS, "flags", "invalid"));
    }

    @Test
    void countsEmfileFailuresOfAnotherProcess() throws Exception {
        Python python = Python.named(uniqueComm("mfdpy"));
        Python.Result result = python.run("""
                import os, resource, errno
                resource.setrlimit(resource.RLIMIT_NOFILE, (16, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
                fds, emfile = [], 0
                for _ in range(40):
                    try:
                        fds.append(os.memfd_create("x", os.MFD_CLOEXEC))
                    except OSError as e:
                        assert e.errno == errno.EMFILE, e
                        emfile += 1
                print(emfile)
                """);
        int emfile = Integer.parseInt(result.stdout().strip());
        assertTrue(emfile > 20 && emfile < 40, "the child hit EMFILE " + emfile + " times out of 40");

        Exposition after = scrape();
        assertEquals(40, after.value(CALLS, "comm", python.comm()));
        assertEquals(emfile, after.value(FAILURES, "comm", python.comm(), "errno", "EMFILE"));
    }

    @Test
    void countsAPythonProcessExactly() throws Exception {
        Assumptions.assumeTrue(TestLibC.hasNoexecSeal(), TestLibC.NO_NOEXEC_SEAL);
        Python python = Python.named(uniqueComm("mfdpy"));
        Exposition before = scrape();
        // MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL: a combination only this test uses.
        python.run("import os; [os.close(os.memfd_create('x', 0xb)) for _ in range(1000)]");
        Exposition after = scrape();

        assertEquals(1000, after.value(CALLS, "comm", python.comm()));
        assertEquals(1000, delta(before, after, BY_FLAGS, "flags", "MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_NOEXEC_SEAL"));
    }

    @Test
    void staysExactUnderConcurrency() {
        Assumptions.assumeTrue(TestLibC.hasNoexecSeal(), TestLibC.NO_NOEXEC_SEAL);
        int perThread = 12_500;
        int flags = MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL;
        String shared = uniqueComm("mfdsh");
        List<String> own = new ArrayList<>();
        List<Task> tasks = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            String comm = uniqueComm("mfdo" + t);
            own.add(comm);
            tasks.add(new Task(comm, calls(perThread, flags)));
            tasks.add(new Task(shared, calls(perThread, flags)));
        }
        Exposition before = scrape();
        CommThreads.runAllAs(tasks);
        Exposition after = scrape();

        for (String comm : own) {
            assertEquals(perThread, after.value(CALLS, "comm", comm), comm);
        }
        assertEquals(4 * perThread, after.value(CALLS, "comm", shared), "4 threads sharing one comm");
        assertEquals(8 * perThread, delta(before, after, BY_FLAGS, "flags", "MFD_ALLOW_SEALING|MFD_NOEXEC_SEAL"));
    }

    @Test
    void hostileCommsBecomeValidUtf8LabelsInEveryFormat() throws Exception {
        Map<byte[], String> expectedLabel = new HashMap<>();
        String tag = Long.toString(System.nanoTime() % 10_000);
        expectedLabel.put(("q\"b\\" + tag).getBytes(StandardCharsets.UTF_8), "q\"b\\" + tag);
        expectedLabel.put(("n\nl}" + tag).getBytes(StandardCharsets.UTF_8), "n\\x0al}" + tag);
        expectedLabel.put(concat(new byte[] {(byte) 0xff, (byte) 0xfe, 'z'}, tag), "\\xff\\xfez" + tag);
        expectedLabel.put(("é{=,}" + tag).getBytes(StandardCharsets.UTF_8), "é{=,}" + tag);
        expectedLabel.put(concat(new byte[] {(byte) 0xc3}, tag), "\\xc3" + tag); // truncated UTF-8 sequence
        expectedLabel.put(concat(new byte[] {'\t', 0x7f, '\r'}, tag), "\\x09\\x7f\\x0d" + tag);
        List<Task> tasks = new ArrayList<>();
        int calls = 1;
        Map<String, Integer> expectedCalls = new HashMap<>();
        for (Map.Entry<byte[], String> entry : expectedLabel.entrySet()) {
            tasks.add(new Task(entry.getKey(), calls(calls, MFD_CLOEXEC)));
            expectedCalls.put(entry.getValue(), calls++);
        }
        CommThreads.runAllAs(tasks);

        Exposition text = scrape();
        expectedCalls.forEach((label, n) -> assertEquals((double) n, text.value(CALLS, "comm", label), label));

        HttpResponse<byte[]> openMetrics = Http.get(exporter.port(), "/metrics", Http.OPENMETRICS);
        assertTrue(openMetrics.headers().firstValue("Content-Type").orElseThrow().startsWith("application/openmetrics-text"));
        String openMetricsText = Http.strictUtf8(openMetrics.body());
        assertTrue(openMetricsText.endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        Exposition parsedOpenMetrics = Exposition.parse(openMetricsText.replace("# EOF\n", ""));
        expectedCalls.forEach((label, n) -> assertEquals((double) n, parsedOpenMetrics.value("memfd_create_calls_total", "comm", label), label));

        HttpResponse<byte[]> protobuf = Http.get(exporter.port(), "/metrics", Http.PROTOBUF);
        assertTrue(protobuf.headers().firstValue("Content-Type").orElseThrow().startsWith("application/vnd.google.protobuf"));
        Map<String, Double> protobufCalls = new HashMap<>();
        try (InputStream in = new java.io.ByteArrayInputStream(protobuf.body())) {
            Metrics.MetricFamily family;
            while ((family = Metrics.MetricFamily.parseDelimitedFrom(in)) != null) {
                if (family.getName().equals("memfd_create_calls_total")) {
                    for (Metrics.Metric metric : family.getMetricList()) {
                        protobufCalls.put(metric.getLabel(0).getValue(), metric.getCounter().getValue());
                    }
                }
            }
        }
        expectedCalls.forEach((label, n) -> assertEquals(Double.valueOf(n), protobufCalls.get(label), label));
    }

    @Test
    void anEmptyCommGetsAVisibleLabel() {
        Exposition before = scrape();
        CommThreads.runAs(new byte[0], calls(3, MFD_CLOEXEC));
        assertEquals(3, delta(before, scrape(), CALLS, "comm", "(empty)"));
    }

    @Test
    void servesLandingPageHealthAndFilters() {
        HttpResponse<byte[]> landing = Http.get(exporter.port(), "/", null);
        assertEquals(200, landing.statusCode());
        String html = new String(landing.body(), StandardCharsets.UTF_8);
        assertTrue(html.contains("memfd_exporter") && html.contains("href=\"/metrics\""), html);

        HttpResponse<byte[]> health = Http.get(exporter.port(), "/-/healthy", null);
        assertEquals(200, health.statusCode());
        assertEquals("Healthy\n", new String(health.body(), StandardCharsets.UTF_8));

        assertEquals(404, Http.get(exporter.port(), "/nothing-here", null).statusCode());

        HttpResponse<byte[]> filtered = Http.get(exporter.port(),
                "/metrics?name[]=memfd_create_observed_calls_total", Http.TEXT);
        Exposition only = Exposition.parse(new String(filtered.body(), StandardCharsets.UTF_8));
        assertEquals(List.of("memfd_create_observed_calls_total"),
                only.samples().stream().map(Exposition.Sample::name).distinct().toList());
    }

    @Test
    void answersMalformedHttpWith400AndKeepsServing() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", exporter.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
            assertEquals("HTTP/1.1 400", status);
        }
        assertTrue(scrape().hasFamily(OBSERVED), "still serving after a malformed request");
    }

    @Test
    void compressesWhenTheClientAcceptsGzip() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", exporter.port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            String headers = response.substring(0, response.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT);
            assertTrue(headers.contains("content-encoding: gzip"), headers);
        }
    }

    private static double delta(Exposition before, Exposition after, String name, String... labels) {
        return after.value(name, labels) - before.value(name, labels);
    }

    private static byte[] concat(byte[] head, String tail) {
        byte[] tailBytes = tail.getBytes(StandardCharsets.US_ASCII);
        byte[] all = java.util.Arrays.copyOf(head, head.length + tailBytes.length);
        System.arraycopy(tailBytes, 0, all, head.length, tailBytes.length);
        return all;
    }
}
