package io.memfdexporter.cli;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import io.memfdexporter.Exporter;
import io.memfdexporter.bpf.BpfPins;
import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.Native;
import io.memfdexporter.http.HttpLimits;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.ListenException;
import io.memfdexporter.http.WebConfig;
import io.memfdexporter.http.WebConfigException;
import io.memfdexporter.metrics.BuildInfo;
import io.memfdexporter.live.LiveScanner;
import io.memfdexporter.privileges.PrivilegeDrop;
import io.memfdexporter.privileges.PrivilegeDropException;
import io.memfdexporter.probe.MemfdProbe;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The {@code memfd_exporter} command line, in node_exporter's flag style. */
@Command(name = "memfd_exporter", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = "Exports memfd_create(2), memfd size, memfd_secret(2) and memfd execution activity, counted in the kernel by eBPF"
                + " tracepoints, as Prometheus metrics.",
        footer = {"", "Needs CAP_BPF and CAP_PERFMON (or root), libbpf >= 1.0, and tracefs (mounted if absent).",
                "Started as root, it runs as uid " + PrivilegeDrop.NOBODY + " without capabilities once attached;",
                "only the live collector's /proc fallback (kernels refusing BPF iterators) keeps root, or needs",
                "CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE, for the exporter's whole life.",
                "Exit status: 0 after SIGTERM/SIGINT or --bpf.unpin, 1 when it cannot start, 2 on bad flags."})
public final class Main implements Callable<Integer> {
    static final int EXIT_STARTUP_FAILURE = 1;
    static final Duration MIN_LIVE_INTERVAL = Duration.ofSeconds(1);

    @Spec
    private CommandSpec spec;

    @Option(names = "--web.listen-address", paramLabel = "[HOST]:PORT", defaultValue = ":9822",
            description = "Address on which to expose metrics and the web interface (default: ${DEFAULT-VALUE},"
                    + " all interfaces; [::1]:9822 for IPv6).")
    private String listenAddress;

    @Option(names = "--web.telemetry-path", paramLabel = "PATH", defaultValue = "/metrics",
            description = "Path under which to expose metrics (default: ${DEFAULT-VALUE}).")
    private String telemetryPath;

    @Option(names = "--web.config.file", paramLabel = "FILE",
            description = "Configuration file that enables TLS, client certificates, basic auth and response headers,"
                    + " in the exporter-toolkit format node_exporter reads (see docs/http.md); read once at startup.")
    private Path webConfigFile;

    @Option(names = "--web.max-connections", paramLabel = "N", defaultValue = "" + HttpLimits.DEFAULT_MAX_CONNECTIONS,
            description = "Most HTTP connections open at once; a new one beyond it closes the oldest connection that has"
                    + " no request in progress (default: ${DEFAULT-VALUE}).")
    private int maxConnections;

    @Option(names = "--web.max-requests", paramLabel = "N", defaultValue = "" + HttpLimits.DEFAULT_MAX_REQUESTS,
            description = "Most scrape and landing page requests in progress at once (all share one"
                    + " collection); more get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
    private int maxRequests;

    @Option(names = "--web.read-header-timeout", paramLabel = "DURATION", defaultValue = HttpLimits.DEFAULT_READ_HEADER_TIMEOUT_SECONDS + "s",
            converter = DurationConverter.class,
            description = "Time a new connection has to send a complete request head (and TLS handshake), however"
                    + " slowly it trickles in; then it is closed (default: ${DEFAULT-VALUE}).")
    private Duration readHeaderTimeout;

    @Option(names = "--web.idle-timeout", paramLabel = "DURATION", defaultValue = HttpLimits.DEFAULT_IDLE_TIMEOUT_SECONDS + "s",
            converter = DurationConverter.class,
            description = "Time a connection may wait for its next request after a response, or go without sending"
                    + " or receiving a byte; then it is closed (default: ${DEFAULT-VALUE}; longer than the scrape"
                    + " interval keeps Prometheus's connection open).")
    private Duration idleTimeout;

    @Option(names = "--runtime.drop-privileges", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Once the programs are attached, drop every privilege from every thread: root becomes uid"
                    + " and gid " + PrivilegeDrop.NOBODY + " with no capabilities; no_new_privs is set (default: on).")
    private boolean dropPrivileges;

    @Option(names = "--log.level", paramLabel = "LEVEL", defaultValue = "info",
            description = "Only log messages with the given severity or above: ${COMPLETION-CANDIDATES}"
                    + " (default: ${DEFAULT-VALUE}). debug includes libbpf's log.")
    private LogLevel logLevel;

    @Option(names = "--bpf.max-comms", paramLabel = "N", defaultValue = "" + MemfdProbe.DEFAULT_MAX_COMMS,
            description = "Capacity of each of the kernel's per-comm maps (memfd_create calls and failures,"
                    + " memfd executions, requested memfd bytes, memfd_secret calls and failures); what comms beyond"
                    + " it do is counted in the memfd_*_unrecorded_* metrics (default: ${DEFAULT-VALUE}, at most "
                    + MemfdProbe.MAX_MAX_COMMS + ").")
    private int maxComms;

    @Option(names = "--bpf.pin-path", paramLabel = "DIR",
            description = "Pin the kernel state (BPF maps, programs and links) under DIR on a bpf filesystem, so the kernel"
                    + " keeps counting while the exporter is down and a restart of the same build continues the counts;"
                    + " e.g. /sys/fs/bpf/memfd_exporter (bpffs is mounted at /sys/fs/bpf if needed). Off by default:"
                    + " pinned programs keep running, and costing, after the exporter exits.")
    private Path pinPath;

    @Option(names = "--bpf.unpin",
            description = "Remove everything pinned under --bpf.pin-path, detaching its programs once no exporter runs"
                    + " with them, and exit.")
    private boolean unpin;

    @Option(names = "--collector.max-comms", paramLabel = "N", defaultValue = "" + Exporter.Config.DEFAULT_MAX_COMM_SERIES,
            description = "Most comm series exported per family, so random process names cannot explode Prometheus. A comm"
                    + " keeps its series for the exporter's lifetime; comms first seen once N have one are summed into"
                    + " comm=\"(other)\" for good, so no counter moves between series (the first scrape gives the N"
                    + " largest their series). The memfd_live_* gauges show the N holding most (default: ${DEFAULT-VALUE}).")
    private int maxCommSeries;

    @Option(names = "--no-collector.live",
            description = "Disable the live collector, which finds the memfds alive now and who holds them"
                    + " (memfd_live_* metrics; enabled by default).")
    private boolean noLive;

    @Option(names = "--collector.live.method", paramLabel = "METHOD", defaultValue = "auto",
            converter = LiveMethodConverter.class,
            description = "How live scans find memfds: bpf-iterator (BPF task_file and task_vma iterators; no privilege"
                    + " needed after startup), proc (walks /proc; keeps root or CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and"
                    + " CAP_CHECKPOINT_RESTORE), or auto: bpf-iterator, else proc (default: ${DEFAULT-VALUE}).")
    private LiveScanner.Choice liveMethod;

    @Option(names = "--collector.live.interval", paramLabel = "DURATION", defaultValue = "15s",
            converter = DurationConverter.class,
            description = "Time between the end of one live scan and the start of the next; scrapes read the last"
                    + " completed scan (default: ${DEFAULT-VALUE}, at least 1s).")
    private Duration liveInterval;

    @Option(names = "--collector.live.max-fds", paramLabel = "N", defaultValue = "200000",
            description = "File descriptors one live scan examines at most, in ascending pid order (proc method), or"
                    + " memfd records it reads (bpf-iterator: fds holding memfds plus mappings of memfds); what is"
                    + " left is counted in memfd_exporter_live_skipped_processes{reason=\"budget\"}"
                    + " (default: ${DEFAULT-VALUE}).")
    private long liveMaxFds;

    public static void main(String[] args) {
        System.setProperty("java.util.logging.manager", ShutdownSafeLogManager.class.getName());
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command; returns only on a failure to start, or when the exporter was stopped. */
    static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return commandLine(new Main()).setOut(out).setErr(err).execute(args);
    }

    /** The command line as the exporter parses it; also what docs/flags.md is generated from. */
    public static CommandLine commandLine(Main main) {
        // --[no-]a.b as kingpin (node_exporter's flag parser) writes negatable flags: picocli's default needs \w only.
        CommandLine.RegexTransformer negation = new CommandLine.RegexTransformer.Builder()
                .addPattern("^--no-(\\w[\\w.-]*)$", "--$1", "--[no-]$1")
                .addPattern("^--(\\w[\\w.-]*)$", "--no-$1", "--[no-]$1").build();
        return new CommandLine(main).setNegatableOptionTransformer(negation).setCaseInsensitiveEnumValuesAllowed(true);
    }

    @Override
    public Integer call() throws InterruptedException {
        Exporter.Config config = config();
        LogSetup.configure(logLevel);
        PrintWriter err = spec.commandLine().getErr();
        if (unpin) {
            try {
                config.pins().removeAll(Native.get());
                return 0;
            } catch (BpfUnavailableException | UncheckedIOException e) {
                err.println("memfd_exporter: " + e.getMessage());
                err.flush();
                return EXIT_STARTUP_FAILURE;
            }
        }
        // Installed before the start, so that a signal during it still ends in a clean stop.
        CompletableFuture<Exporter> started = new CompletableFuture<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(started), "shutdown"));
        try {
            started.complete(Exporter.start(config.withWeb(webConfigFile == null ? WebConfig.NONE
                    : WebConfig.load(webConfigFile))));
        } catch (WebConfigException | BpfUnavailableException | ListenException | PrivilegeDropException
                 | UncheckedIOException e) { // UncheckedIOException: the live scanner cannot create a memfd to learn from
            started.completeExceptionally(e);
            err.println("memfd_exporter: " + e.getMessage());
            err.flush();
            return EXIT_STARTUP_FAILURE;
        } catch (RuntimeException | Error e) {
            started.completeExceptionally(e);
            throw e;
        }
        Thread.currentThread().join(); // until the shutdown hook halts the JVM
        return 0;
    }

    /**
     * The shutdown hook (SIGTERM, SIGINT): waits for a start in progress to
     * end, closes the exporter and exits 0. When the start failed, the main
     * thread reports it and exits 1.
     */
    private static void stop(CompletableFuture<Exporter> started) {
        Exporter exporter;
        try {
            exporter = started.join();
        } catch (CompletionException startFailed) {
            return;
        }
        exporter.close();
        // A signal-initiated JVM exit reports 128+signal; a clean stop on SIGTERM/SIGINT is a success.
        Runtime.getRuntime().halt(0);
    }

    /** Validates the flags; a bad value is a usage error (exit 2), reported before anything is attached. */
    Exporter.Config config() {
        ListenAddress address;
        try {
            address = ListenAddress.parse(listenAddress);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--web.listen-address: " + e.getMessage());
        }
        if (!telemetryPath.startsWith("/") || telemetryPath.equals("/") || telemetryPath.equals("/-/healthy")) {
            throw new ParameterException(spec.commandLine(), "--web.telemetry-path must start with / and must not be"
                    + " / or /-/healthy, got '" + telemetryPath + "'");
        }
        if (maxComms < 1 || maxComms > MemfdProbe.MAX_MAX_COMMS) {
            throw new ParameterException(spec.commandLine(), "--bpf.max-comms must be in 1.." + MemfdProbe.MAX_MAX_COMMS
                    + ", got " + maxComms);
        }
        if (maxCommSeries < 1) {
            throw new ParameterException(spec.commandLine(), "--collector.max-comms must be at least 1, got " + maxCommSeries);
        }
        if (liveInterval.compareTo(MIN_LIVE_INTERVAL) < 0) {
            throw new ParameterException(spec.commandLine(), "--collector.live.interval must be at least 1s, got "
                    + liveInterval.toMillis() + "ms");
        }
        if (liveMaxFds < 1) {
            throw new ParameterException(spec.commandLine(), "--collector.live.max-fds must be positive, got " + liveMaxFds);
        }
        HttpLimits http;
        try {
            http = new HttpLimits(maxConnections, maxRequests, readHeaderTimeout, idleTimeout);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--web.max-connections and --web.max-requests must be at"
                    + " least 1, --web.read-header-timeout and --web.idle-timeout at least 1ms");
        }
        BpfPins pins = BpfPins.NONE;
        if (pinPath != null) {
            try {
                pins = BpfPins.at(pinPath);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--bpf.pin-path " + e.getMessage());
            }
        } else if (unpin) {
            throw new ParameterException(spec.commandLine(), "--bpf.unpin needs --bpf.pin-path=DIR: the directory to remove");
        }
        return new Exporter.Config(address, telemetryPath, maxComms, maxCommSeries, !noLive, liveInterval, liveMaxFds, liveMethod, pins,
                WebConfig.NONE, http, dropPrivileges, Optional.empty(), Optional.empty());
    }

    /** {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"memfd_exporter " + BuildInfo.exporterVersion() + " (Java " + System.getProperty("java.version") + ")"};
        }
    }
}
