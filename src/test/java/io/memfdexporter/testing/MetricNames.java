package io.memfdexporter.testing;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.memfdexporter.metrics.MetricFamily;

/** Series names as Prometheus stores them, from the one definition of every metric (MetricFamily). */
public final class MetricNames {
    /** A series selector in an expression: optional metric name (group 1), then its matchers (group 2). */
    public static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)?\\{([^}]*)}");
    /** Not after $: Grafana's variables ($__range: in a subquery ends with a colon). */
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![$\\w])[a-zA-Z_][a-zA-Z0-9_:]*");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    /** The exporter's label names: memfd_name_kind starts like a metric name. */
    private static final Set<String> LABELS = Stream.of(MetricFamily.values()).flatMap(family -> family.labels().stream())
            .collect(Collectors.toSet());

    private MetricNames() {
    }

    /** The series names one family becomes in Prometheus (a histogram is three). */
    public static List<String> of(MetricFamily family) {
        String name = family.exposedName();
        return family.type() == MetricFamily.Type.HISTOGRAM
                ? List.of(name + "_bucket", name + "_count", name + "_sum")
                : List.of(name);
    }

    /** Every series name the exporter exports. */
    public static Set<String> exported() {
        Set<String> names = new TreeSet<>();
        Stream.of(MetricFamily.values()).map(MetricNames::of).forEach(names::addAll);
        return names;
    }

    /**
     * The exporter's and recorded series an expression reads: identifiers
     * outside strings that start with memfd_ or contain a colon (recording rule
     * names), but for the exporter's label names. Other label names, functions
     * and keywords never do in these files.
     */
    public static Set<String> readBy(String expr) {
        Set<String> names = new TreeSet<>();
        Matcher identifier = IDENTIFIER.matcher(STRING.matcher(expr).replaceAll("\"\""));
        while (identifier.find()) {
            String name = identifier.group();
            if ((name.startsWith("memfd_") || name.contains(":")) && !LABELS.contains(name)) {
                names.add(name);
            }
        }
        return names;
    }
}
