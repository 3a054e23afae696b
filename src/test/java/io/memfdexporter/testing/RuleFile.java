package io.memfdexporter.testing;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.representer.Representer;

/** A Prometheus rule file (groups of recording and alerting rules), read as YAML. */
public final class RuleFile {
    /** The shipped rules, relative to the project directory (the tests' working directory). */
    public static final Path SHIPPED = Path.of("alerts", "memfd_exporter.rules.yml");

    public record Alert(String name, String expr, String forDuration, Map<String, String> labels,
                        Map<String, String> annotations) {
    }

    /** A recording rule; a name may be recorded by several rules with different labels. */
    public record Recording(String name, String expr, Map<String, String> labels) {
    }

    private final Map<String, Object> document;

    private RuleFile(Map<String, Object> document) {
        this.document = document;
    }

    /** Rules as text: YAML, or JSON (which YAML reads), as jsonnet renders mixin/. */
    public static RuleFile parse(String text) {
        return new RuleFile(yaml().load(text));
    }

    public static RuleFile read(Path path) throws IOException {
        try (Reader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            return new RuleFile(yaml().load(reader));
        }
    }

    /** A YAML parser that builds plain maps and lists only. */
    public static Yaml yaml() {
        DumperOptions dumperOptions = new DumperOptions();
        dumperOptions.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        return new Yaml(new SafeConstructor(new LoaderOptions()), new Representer(dumperOptions), dumperOptions);
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> rules() {
        List<Map<String, Object>> rules = new ArrayList<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) document.get("groups")) {
            rules.addAll((List<Map<String, Object>>) group.get("rules"));
        }
        return rules;
    }

    public List<Alert> alerts() {
        return rules().stream().filter(rule -> rule.containsKey("alert")).map(rule -> new Alert(
                (String) rule.get("alert"), (String) rule.get("expr"), (String) rule.get("for"),
                strings(rule.get("labels")), strings(rule.get("annotations")))).toList();
    }

    public List<Recording> recordings() {
        return rules().stream().filter(rule -> rule.containsKey("record")).map(rule -> new Recording(
                (String) rule.get("record"), (String) rule.get("expr"), strings(rule.get("labels")))).toList();
    }

    /**
     * Copies a rule file with every alert's {@code for} set to {@code forDuration}
     * and nothing else changed: the same expressions, labels and annotations.
     */
    public static void copyWithFor(Path source, String forDuration, Path target) throws IOException {
        RuleFile copy = read(source);
        for (Map<String, Object> rule : copy.rules()) {
            if (rule.containsKey("alert")) {
                rule.put("for", forDuration);
            }
        }
        try (Writer writer = Files.newBufferedWriter(target, StandardCharsets.UTF_8)) {
            yaml().dump(copy.document, writer);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> strings(Object map) {
        Map<String, String> strings = new LinkedHashMap<>();
        if (map != null) {
            ((Map<String, Object>) map).forEach((key, value) -> strings.put(key, String.valueOf(value)));
        }
        return strings;
    }
}
