package io.memfdexporter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flag handling that needs no kernel: usage errors are exit 2 and say what is wrong. */
class MainTest {
    record Run(int exitCode, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--web.listen-address=nohost | has no port",
        "--web.listen-address=:99999 | outside 0-65535",
        "--web.listen-address=::1:9822 | brackets",
        "--web.telemetry-path=metrics | must start with /",
        "--web.telemetry-path=/ | must not be",
        "--bpf.max-comms=0 | must be in 1..1048576",
        "--bpf.max-comms=many | Invalid value",
        "--log.level=loud | Invalid value",
        "--no-such-flag | Unknown option",
        "--bpf.unpin | --bpf.unpin needs --bpf.pin-path=DIR",
        "--bpf.pin-path=pins | --bpf.pin-path must be an absolute path, got 'pins'",
    })
    void rejectsBadFlagsWithUsageError(String flag, String message) {
        Run run = run(flag);
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().contains(message), run.err());
    }

    @Test
    void printsVersionAndHelp() {
        Run version = run("--version");
        assertEquals(0, version.exitCode());
        assertTrue(version.out().startsWith("memfd_exporter "), version.out());

        Run help = run("--help");
        assertEquals(0, help.exitCode());
        for (String flag : new String[] {"--web.listen-address", "--web.telemetry-path", "--log.level", "--bpf.max-comms",
                "--bpf.pin-path", "--bpf.unpin"}) {
            assertTrue(help.out().contains(flag), flag);
        }
        assertTrue(help.out().contains("default: :9822"), help.out());
    }

    @Test
    void privilegesAreDroppedUnlessOptedOut() {
        Main main = new Main();
        Main.commandLine(main).parseArgs();
        assertTrue(main.config().dropPrivileges());
        Main.commandLine(main).parseArgs("--no-runtime.drop-privileges");
        assertFalse(main.config().dropPrivileges());
    }

    @Test
    void aBadWebConfigIsOneLineAndExitOneBeforeAnythingIsAttached(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("web.yml"), "tls_server_config:\n  cert_fil: server.pem\n");
        Run run = run("--web.listen-address=127.0.0.1:0", "--web.config.file=" + config);
        assertEquals(1, run.exitCode(), run.err());
        assertEquals("memfd_exporter: --web.config.file " + config + ": unknown key tls_server_config.cert_fil (known:"
                + " cert_file, cipher_suites, client_auth_type, client_ca_file, key_file, max_version, min_version)\n", run.err());
    }
}
