package io.memfdexporter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import io.memfdexporter.cli.Main;
import io.memfdexporter.http.ListenAddress;
import io.memfdexporter.http.MetricsServer;
import io.memfdexporter.testing.ChildExporter;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Keeps the Dockerfile, deploy/kubernetes and deploy/systemd consistent with
 * the CLI and with each other: a renamed flag, a moved port or a widened
 * privilege fails here instead of in a cluster.
 */
class DeployManifestsTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
    private static final Path KUBERNETES = ROOT.resolve("deploy/kubernetes");
    private static final Path SYSTEMD_UNIT = ROOT.resolve("deploy/systemd/memfd-exporter.service");
    private static final Path DOCKERFILE = ROOT.resolve("Dockerfile");
    private static final Path DEBIAN_DEFAULT = ROOT.resolve("deploy/debian/default");
    private static final String TRACEFS = "/sys/kernel/tracing";

    /** Every YAML document under deploy/kubernetes, by kind. */
    private static Map<String, Map<String, Object>> manifests;

    @BeforeAll
    static void loadManifests() throws IOException {
        manifests = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> list = Files.list(KUBERNETES)) {
            files = list.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no YAML in " + KUBERNETES);
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
        for (Path file : files) {
            try (InputStream in = Files.newInputStream(file)) {
                for (Object document : yaml.loadAll(in)) {
                    if (document == null) {
                        continue;
                    }
                    Map<String, Object> manifest = map(document, file + ": document");
                    String kind = string(manifest.get("kind"), file + ": kind");
                    assertNotNull(manifest.get("apiVersion"), file + ": apiVersion");
                    assertNotNull(map(manifest.get("metadata"), file + ": metadata").get("name"), file + ": metadata.name");
                    assertTrue(manifests.put(kind, manifest) == null, "two " + kind + " manifests under " + KUBERNETES);
                }
            }
        }
    }

    @Test
    void theExpectedManifestsExist() {
        assertEquals(Set.of("DaemonSet", "Service", "PodMonitor"), manifests.keySet());
        assertEquals("apps/v1", manifests.get("DaemonSet").get("apiVersion"));
        assertEquals("v1", manifests.get("Service").get("apiVersion"));
        assertEquals("monitoring.coreos.com/v1", manifests.get("PodMonitor").get("apiVersion"));
    }

    // ---- Flags -----------------------------------------------------------------------------

    @Test
    void daemonSetPassesOnlyRealFlags() {
        assertRealFlags(exporterArgs(container()), "DaemonSet");
    }

    @Test
    void systemdExecStartPassesOnlyRealFlags() {
        assertRealFlags(afterJar(execStart(), "ExecStart"), "systemd ExecStart");
    }

    @Test
    void dockerfilePassesOnlyRealFlags() {
        List<String> exporterArgs = new ArrayList<>(afterJar(entrypoint(), "ENTRYPOINT"));
        exporterArgs.addAll(dockerfileJsonArray("CMD").orElse(List.of()));
        assertRealFlags(exporterArgs, "Dockerfile");
    }

    @Test
    void flagCheckRejectsAnUnknownFlag() {
        // The check above must be able to fail.
        assertThrowsAssertion(() -> assertRealFlags(List.of("--web.listen-adress=:9822"), "example"));
        assertThrowsAssertion(() -> assertRealFlags(List.of("--bpf.max-comms=lots"), "example"));
    }

    // ---- Ports and paths ----------------------------------------------------------------------

    @Test
    void containerPortProbesAndListenAddressAgree() {
        Map<String, Object> container = container();
        int listenPort = listenPort(exporterArgs(container));
        Map<String, Object> port = metricsPort(container);
        assertEquals(listenPort, port.get("containerPort"), "containerPort vs --web.listen-address");
        assertEquals("TCP", port.getOrDefault("protocol", "TCP"));

        List<String> probeNames = List.of("startupProbe", "readinessProbe", "livenessProbe");
        assertTrue(container.containsKey("livenessProbe") && container.containsKey("readinessProbe"),
                "liveness and readiness probes are required");
        for (String probeName : probeNames) {
            if (!container.containsKey(probeName)) {
                continue;
            }
            Map<String, Object> httpGet = map(map(container.get(probeName), probeName).get("httpGet"), probeName + ".httpGet");
            assertEquals(MetricsServer.HEALTH_PATH, httpGet.get("path"), probeName + " path");
            assertEquals(listenPort, resolvePort(container, httpGet.get("port")), probeName + " port");
        }
    }

    @Test
    void serviceAndPodMonitorTargetTheContainerPort() {
        Map<String, Object> container = container();
        Map<String, Object> port = metricsPort(container);
        String portName = string(port.get("name"), "container port name");

        Map<String, Object> serviceSpec = map(manifests.get("Service").get("spec"), "Service spec");
        List<Object> servicePorts = list(serviceSpec.get("ports"), "Service ports");
        assertEquals(1, servicePorts.size(), "Service ports");
        Map<String, Object> servicePort = map(servicePorts.get(0), "Service port");
        assertEquals(portName, servicePort.get("name"), "Service port name");
        assertEquals(port.get("containerPort"), resolvePort(container, servicePort.get("targetPort")), "Service targetPort");
        assertEquals(podLabels(), map(serviceSpec.get("selector"), "Service selector"), "Service selector vs pod labels");

        Map<String, Object> monitorSpec = map(manifests.get("PodMonitor").get("spec"), "PodMonitor spec");
        Map<String, Object> matchLabels = map(map(monitorSpec.get("selector"), "PodMonitor selector").get("matchLabels"),
                "PodMonitor matchLabels");
        assertTrue(podLabels().entrySet().containsAll(matchLabels.entrySet()), "PodMonitor selects no pod of the DaemonSet");
        List<Object> endpoints = list(monitorSpec.get("podMetricsEndpoints"), "podMetricsEndpoints");
        assertFalse(endpoints.isEmpty(), "podMetricsEndpoints");
        String telemetryPath = telemetryPath(exporterArgs(container));
        for (Object endpoint : endpoints) {
            Map<String, Object> ep = map(endpoint, "podMetricsEndpoint");
            assertEquals(portName, ep.get("port"), "PodMonitor port must name the container port");
            assertEquals(telemetryPath, ep.getOrDefault("path", "/metrics"), "PodMonitor path vs --web.telemetry-path");
        }
    }

    /**
     * The shipped rules and dashboard select job="memfd_exporter" (the mixin's
     * default memfdExporterSelector): the PodMonitor replaces the Operator's
     * job name (namespace/name) with it on every endpoint.
     */
    @Test
    void podMonitorNamesTheJobAsTheShippedRulesSelectIt() {
        Map<String, Object> monitorSpec = map(manifests.get("PodMonitor").get("spec"), "PodMonitor spec");
        for (Object endpoint : list(monitorSpec.get("podMetricsEndpoints"), "podMetricsEndpoints")) {
            List<Object> relabelings = list(map(endpoint, "podMetricsEndpoint").get("relabelings"), "relabelings");
            assertTrue(relabelings.contains(Map.of("targetLabel", "job", "replacement", "memfd_exporter")),
                    "a relabeling sets job to memfd_exporter: " + relabelings);
        }
    }

    @Test
    void dockerfileExposesTheListenPort() {
        List<String> exporterArgs = new ArrayList<>(afterJar(entrypoint(), "ENTRYPOINT"));
        exporterArgs.addAll(dockerfileJsonArray("CMD").orElse(List.of()));
        List<String> expose = dockerfileInstructions("EXPOSE");
        assertEquals(1, expose.size(), "one EXPOSE");
        assertEquals(listenPort(exporterArgs) + "", expose.get(0).replace("/tcp", "").trim(), "EXPOSE vs --web.listen-address");
    }

    @Test
    void everyDeploymentUsesTheSamePort() {
        // One documented port (README, dashboards, firewall rules) for every way to run it.
        int kubernetes = listenPort(exporterArgs(container()));
        assertEquals(kubernetes, listenPort(afterJar(execStart(), "ExecStart")), "systemd vs Kubernetes");
        assertEquals(kubernetes, listenPort(afterJar(entrypoint(), "ENTRYPOINT")), "Dockerfile vs Kubernetes");
    }

    // ---- Privileges ---------------------------------------------------------------------------

    /**
     * Only what starting needs: loading and attaching the programs and the live collector's iterators (BPF,
     * PERFMON), then becoming uid 65534 (SETUID, SETGID), which leaves none. Nothing to read other processes'
     * /proc (DAC_READ_SEARCH, SYS_PTRACE, CHECKPOINT_RESTORE): the iterators need no privilege after startup.
     */
    private static final Set<String> CAPABILITIES = Set.of("BPF", "PERFMON", "SETUID", "SETGID");

    @Test
    void containerHasExactlyTheNeededCapabilitiesAndAReadOnlyRoot() {
        Map<String, Object> securityContext = map(container().get("securityContext"), "securityContext");
        Map<String, Object> capabilities = map(securityContext.get("capabilities"), "capabilities");
        List<Object> add = list(capabilities.get("add"), "capabilities.add");
        assertEquals(CAPABILITIES.size(), add.size(), "capabilities.add " + add);
        assertEquals(CAPABILITIES, Set.copyOf(add), "capabilities.add");
        assertEquals(Boolean.TRUE, podSpec().get("hostPID"), "hostPID: the live collector's iterators see the pod's pid namespace");
        assertEquals(0, securityContext.get("runAsUser"), "root to start, so that the drop to uid 65534 reaches every thread");
        assertFalse(exporterArgs(container()).contains("--no-runtime.drop-privileges"), "the drop is on");
        assertEquals(List.of("ALL"), capabilities.get("drop"), "capabilities.drop");
        assertEquals(Boolean.TRUE, securityContext.get("readOnlyRootFilesystem"), "readOnlyRootFilesystem");
        assertEquals(Boolean.FALSE, securityContext.get("allowPrivilegeEscalation"), "allowPrivilegeEscalation");
        assertNotEquals(Boolean.TRUE, securityContext.get("privileged"), "privileged");
        assertNotEquals(Boolean.TRUE, podSpec().get("hostNetwork"), "hostNetwork");
    }

    @Test
    void hostTracefsIsMountedReadOnly() {
        Map<String, Object> mount = list(container().get("volumeMounts"), "volumeMounts").stream()
                .map(m -> map(m, "volumeMount"))
                .filter(m -> TRACEFS.equals(m.get("mountPath")))
                .findFirst().orElseThrow(() -> new AssertionError("no volumeMount at " + TRACEFS));
        assertEquals(Boolean.TRUE, mount.get("readOnly"), "tracefs volumeMount readOnly");
        Map<String, Object> volume = list(podSpec().get("volumes"), "volumes").stream()
                .map(v -> map(v, "volume"))
                .filter(v -> mount.get("name").equals(v.get("name")))
                .findFirst().orElseThrow(() -> new AssertionError("no volume named " + mount.get("name")));
        assertEquals(TRACEFS, map(volume.get("hostPath"), "hostPath").get("path"), "tracefs hostPath");
    }

    @Test
    void systemdUnitStartsAsRootWithOnlyTheNeededCapabilitiesSoThatItEndsWithNoneAndMountsTracefs() {
        Map<String, List<String>> service = systemdSection("Service");
        Set<String> capabilities = CAPABILITIES.stream().map(cap -> "CAP_" + cap).collect(Collectors.toSet());
        assertEquals(capabilities, tokens(only(service, "CapabilityBoundingSet")), "CapabilityBoundingSet");
        // A non-root user with ambient capabilities cannot drop them from every JVM thread: it would keep them.
        assertFalse(service.containsKey("AmbientCapabilities"), "AmbientCapabilities");
        assertFalse(service.containsKey("DynamicUser"), "DynamicUser");
        assertEquals("root", only(service, "User"), "root to start, uid 65534 with no capability after the drop");
        assertFalse(afterJar(execStart(), "ExecStart").contains("--no-runtime.drop-privileges"), "the drop is on");
        assertEquals("yes", only(service, "NoNewPrivileges"));
        assertEquals("strict", only(service, "ProtectSystem"));
        assertEquals("yes", only(service, "ProtectHome"));
        assertEquals("yes", only(service, "PrivateTmp"));
        // An allow-list without these kills the exporter at its first bpf(2).
        Set<String> syscalls = service.getOrDefault("SystemCallFilter", List.of()).stream()
                .flatMap(v -> tokens(v).stream()).collect(Collectors.toSet());
        if (!syscalls.isEmpty()) {
            assertTrue(syscalls.containsAll(Set.of("bpf", "perf_event_open")), "SystemCallFilter " + syscalls);
        }
        assertFalse(service.containsKey("SuccessExitStatus"), "the exporter exits 0 after SIGTERM");
        // Only a fully privileged ("+") command can mount tracefs when the bounding set lacks CAP_SYS_ADMIN.
        String mount = service.getOrDefault("ExecStartPre", List.of()).stream()
                .filter(v -> v.contains("tracefs")).findFirst()
                .orElseThrow(() -> new AssertionError("no ExecStartPre mounts tracefs"));
        assertTrue(mount.startsWith("+"), "the tracefs ExecStartPre needs the '+' prefix: " + mount);
        assertTrue(mount.contains(TRACEFS), mount);
    }

    @Test
    void everyLauncherUsesTheBenchmarkedJvmFlags() {
        Set<String> measured = new TreeSet<>(ChildExporter.Jvm.productionFlags());
        assertTrue(measured.contains("-Xmx64m"), "EXPORTER_JVM_FLAGS: " + measured);

        assertEquals(measured, jvmFlags(execStart()), "systemd ExecStart vs scripts/lib.sh");
        Set<String> docker = new TreeSet<>(jvmFlags(entrypoint()));
        String options = dockerfileInstructions("ENV").stream().filter(e -> e.startsWith("JDK_JAVA_OPTIONS="))
                .findFirst().orElseThrow(() -> new AssertionError("the Dockerfile sets no JDK_JAVA_OPTIONS"));
        docker.addAll(tokens(options.substring(options.indexOf('=') + 1).replace("\"", "")));
        assertEquals(new TreeSet<>(measured), docker, "Dockerfile ENTRYPOINT and JDK_JAVA_OPTIONS vs scripts/lib.sh");
    }

    /** The -X flags of a java command line (not the -D properties, which are per-launcher paths). */
    private static Set<String> jvmFlags(List<String> commandLine) {
        return new TreeSet<>(commandLine.subList(1, commandLine.indexOf("-jar")).stream().filter(a -> a.startsWith("-X")).toList());
    }

    // ---- Dockerfile shape ------------------------------------------------------------------

    @Test
    void dockerfileStagesShareTheBaseImageArgument() {
        List<String> froms = dockerfileInstructions("FROM");
        assertEquals(2, froms.size(), "a build and a runtime stage");
        for (String from : froms) {
            assertTrue(from.startsWith("${BASE_IMAGE}"), "FROM " + from);
        }
        List<String> lines = dockerfileLogicalLines();
        int arg = lines.indexOf("ARG BASE_IMAGE=debian:bookworm");
        int firstFrom = lines.stream().filter(l -> l.startsWith("FROM ")).findFirst().map(lines::indexOf).orElse(-1);
        assertTrue(arg >= 0 && arg < firstFrom, "ARG BASE_IMAGE=debian:bookworm must precede the first FROM");
    }

    // ---- CLI helpers -------------------------------------------------------------------------

    private static CommandLine parse(List<String> exporterArgs) {
        // Same parser settings as Main.execute.
        CommandLine commandLine = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.parseArgs(exporterArgs.toArray(String[]::new));
        return commandLine;
    }

    private static void assertRealFlags(List<String> exporterArgs, String where) {
        Map<String, OptionSpec> options = new CommandLine(new Main()).getCommandSpec().optionsMap();
        for (String arg : exporterArgs) {
            if (arg.startsWith("--")) {
                String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                assertTrue(options.containsKey(name), where + " passes " + name + ", which is not an option of "
                        + new TreeSet<>(options.keySet()));
            }
        }
        try {
            // Values too: a valid name with a value the CLI rejects fails at start-up just the same.
            parse(exporterArgs);
        } catch (CommandLine.ParameterException e) {
            fail(where + ": " + e.getMessage());
        }
    }

    private static String optionValue(List<String> exporterArgs, String option) {
        OptionSpec spec = parse(exporterArgs).getCommandSpec().findOption(option);
        return String.valueOf((Object) spec.getValue());
    }

    private static int listenPort(List<String> exporterArgs) {
        return ListenAddress.parse(optionValue(exporterArgs, "--web.listen-address")).port();
    }

    private static String telemetryPath(List<String> exporterArgs) {
        return optionValue(exporterArgs, "--web.telemetry-path");
    }

    /** The exporter's arguments: everything after {@code -jar JAR}. */
    private static List<String> afterJar(List<String> commandLine, String where) {
        int jar = commandLine.indexOf("-jar");
        assertTrue(jar >= 0 && jar + 1 < commandLine.size(), where + " has no '-jar JAR': " + commandLine);
        assertTrue(commandLine.get(jar + 1).endsWith("memfd-exporter.jar"), where + " runs " + commandLine.get(jar + 1));
        return commandLine.subList(jar + 2, commandLine.size());
    }

    // ---- Kubernetes helpers ------------------------------------------------------------------

    private static Map<String, Object> podSpec() {
        Map<String, Object> spec = map(manifests.get("DaemonSet").get("spec"), "DaemonSet spec");
        return map(map(spec.get("template"), "template").get("spec"), "pod spec");
    }

    private static Map<String, Object> podLabels() {
        Map<String, Object> spec = map(manifests.get("DaemonSet").get("spec"), "DaemonSet spec");
        return map(map(map(spec.get("template"), "template").get("metadata"), "template metadata").get("labels"),
                "pod labels");
    }

    private static Map<String, Object> container() {
        List<Object> containers = list(podSpec().get("containers"), "containers");
        assertEquals(1, containers.size(), "containers");
        return map(containers.get(0), "container");
    }

    /** Without {@code command}, the image's ENTRYPOINT runs the jar and {@code args} are the exporter's. */
    private static List<String> exporterArgs(Map<String, Object> container) {
        List<String> args = list(container.getOrDefault("args", List.of()), "args").stream().map(String::valueOf).toList();
        if (container.containsKey("command")) {
            List<String> all = new ArrayList<>(list(container.get("command"), "command").stream().map(String::valueOf).toList());
            all.addAll(args);
            return afterJar(all, "container command");
        }
        return args;
    }

    private static Map<String, Object> metricsPort(Map<String, Object> container) {
        List<Object> ports = list(container.get("ports"), "ports");
        assertEquals(1, ports.size(), "container ports");
        return map(ports.get(0), "container port");
    }

    /** A probe or Service port: a number, or the name of a container port. */
    private static int resolvePort(Map<String, Object> container, Object port) {
        if (port instanceof Integer number) {
            return number;
        }
        for (Object p : list(container.get("ports"), "ports")) {
            Map<String, Object> containerPort = map(p, "container port");
            if (String.valueOf(port).equals(containerPort.get("name"))) {
                return (Integer) containerPort.get("containerPort");
            }
        }
        throw new AssertionError("no container port named " + port);
    }

    // ---- systemd helpers ---------------------------------------------------------------------

    /** One section of the unit: key to values in order (a key may repeat), continuation lines joined. */
    private static Map<String, List<String>> systemdSection(String name) {
        Map<String, List<String>> section = new LinkedHashMap<>();
        String current = null;
        StringBuilder pending = new StringBuilder();
        for (String raw : readLines(SYSTEMD_UNIT)) {
            String line = raw.strip();
            if (pending.isEmpty() && (line.isEmpty() || line.startsWith("#") || line.startsWith(";"))) {
                continue;
            }
            if (line.endsWith("\\")) {
                pending.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            String logical = pending.append(line).toString().strip();
            pending.setLength(0);
            if (logical.startsWith("[") && logical.endsWith("]")) {
                current = logical.substring(1, logical.length() - 1);
            } else if (name.equals(current)) {
                int eq = logical.indexOf('=');
                assertTrue(eq > 0, "not a key=value line: " + logical);
                section.computeIfAbsent(logical.substring(0, eq).strip(), k -> new ArrayList<>())
                        .add(logical.substring(eq + 1).strip());
            }
        }
        assertFalse(section.isEmpty(), "no [" + name + "] section in " + SYSTEMD_UNIT);
        return section;
    }

    /** ExecStart as systemd runs it with the Debian package's /etc/default/memfd-exporter: $ARGS expanded. */
    private static List<String> execStart() {
        return execStart(debianDefaultArgs(false));
    }

    private static List<String> execStart(String args) {
        String execStart = only(systemdSection("Service"), "ExecStart");
        // Drop systemd's executable prefixes (-, +, !, @, :) from the first word.
        List<String> words = new ArrayList<>(shellWords(execStart));
        words.set(0, words.get(0).replaceFirst("^[-+!@:]+", ""));
        int at = words.indexOf("$ARGS");
        assertTrue(at > 0, "ExecStart does not pass $ARGS (/etc/default/memfd-exporter): " + execStart);
        words.remove(at);
        // Unquoted $ARGS: systemd splits the value at blanks, and an empty one adds no word.
        words.addAll(at, tokens(args).isEmpty() ? List.of() : shellWords(args));
        return words;
    }

    /** ARGS of deploy/debian/default, the package's conffile; or the value of its commented example. */
    private static String debianDefaultArgs(boolean example) {
        String prefix = example ? "# ARGS=" : "ARGS=";
        List<String> values = readLines(DEBIAN_DEFAULT).stream().filter(line -> line.startsWith(prefix))
                .map(line -> line.substring(prefix.length()).replaceAll("^\"|\"$", "")).toList();
        assertEquals(1, values.size(), prefix + " lines in " + DEBIAN_DEFAULT);
        return values.get(0);
    }

    @Test
    void systemdUnitReadsTheDebianDefaults() {
        assertEquals("-/etc/default/memfd-exporter", only(systemdSection("Service"), "EnvironmentFile"),
                "the unit reads ARGS from the package's conffile (optional for a unit installed by hand)");
        assertEquals("", debianDefaultArgs(false), "the packaged default adds nothing to the built-in defaults");
        List<String> example = afterJar(execStart(debianDefaultArgs(true)), "ExecStart with the example ARGS");
        assertRealFlags(example, "the example ARGS of " + DEBIAN_DEFAULT);
        assertEquals("127.0.0.1:9822", optionValue(example, "--web.listen-address"), "the example ARGS reach the CLI");
    }

    private static String only(Map<String, List<String>> section, String key) {
        List<String> values = section.get(key);
        assertNotNull(values, key + " is not set");
        assertEquals(1, values.size(), key + " is set more than once: " + values);
        return values.get(0);
    }

    private static Set<String> tokens(String value) {
        return Arrays.stream(value.trim().split("\\s+")).filter(t -> !t.isEmpty()).collect(Collectors.toSet());
    }

    /** Splits on blanks, honouring single and double quotes (enough for systemd's Exec lines). */
    private static List<String> shellWords(String line) {
        List<String> words = new ArrayList<>();
        Matcher m = Pattern.compile("\"([^\"]*)\"|'([^']*)'|(\\S+)").matcher(line);
        while (m.find()) {
            words.add(m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3));
        }
        return words;
    }

    // ---- Dockerfile helpers ------------------------------------------------------------------

    /** Instructions with continuation lines joined and comment lines dropped, as Docker reads them. */
    private static List<String> dockerfileLogicalLines() {
        List<String> lines = new ArrayList<>();
        StringBuilder pending = new StringBuilder();
        for (String raw : readLines(DOCKERFILE)) {
            String line = raw.strip();
            if (line.startsWith("#") || (line.isEmpty() && pending.isEmpty())) {
                continue;
            }
            if (line.endsWith("\\")) {
                pending.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            lines.add(pending.append(line).toString().strip());
            pending.setLength(0);
        }
        return lines;
    }

    private static List<String> dockerfileInstructions(String instruction) {
        return dockerfileLogicalLines().stream()
                .filter(l -> l.regionMatches(true, 0, instruction + " ", 0, instruction.length() + 1))
                .map(l -> l.substring(instruction.length() + 1).strip())
                .toList();
    }

    /** The last ENTRYPOINT or CMD, which must use the exec (JSON) form so java is PID 1 and gets SIGTERM. */
    private static Optional<List<String>> dockerfileJsonArray(String instruction) {
        List<String> all = dockerfileInstructions(instruction);
        if (all.isEmpty()) {
            return Optional.empty();
        }
        String json = all.get(all.size() - 1);
        assertTrue(json.startsWith("[") && json.endsWith("]"), instruction + " must use the exec form: " + json);
        Object parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(json); // JSON is YAML
        return Optional.of(list(parsed, instruction).stream().map(String::valueOf).toList());
    }

    private static List<String> entrypoint() {
        return dockerfileJsonArray("ENTRYPOINT").orElseThrow(() -> new AssertionError("the Dockerfile has no ENTRYPOINT"));
    }

    // ---- Plumbing ----------------------------------------------------------------------------

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertThrowsAssertion(Runnable check) {
        try {
            check.run();
        } catch (AssertionError expected) {
            return;
        }
        fail("the check accepted an invalid flag");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value, String what) {
        assertTrue(value instanceof Map, what + " is not a mapping: " + value);
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value, String what) {
        assertTrue(value instanceof List, what + " is not a list: " + value);
        return (List<Object>) value;
    }

    private static String string(Object value, String what) {
        assertTrue(value instanceof String, what + " is not a string: " + value);
        return (String) value;
    }
}
