package io.memfdexporter.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A strict parser of the Prometheus text format (0.0.4) for assertions: it
 * rejects anything malformed, so a test passing means the exposition parses.
 */
public record Exposition(List<Sample> samples) {

    public record Sample(String name, Map<String, String> labels, double value) {
    }

    public static Exposition parse(String text) {
        List<Sample> samples = new ArrayList<>();
        int lineNumber = 0;
        for (String line : text.split("\n", -1)) {
            lineNumber++;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                samples.add(parseSample(line));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("line " + lineNumber + " is malformed: " + line, e);
            }
        }
        return new Exposition(List.copyOf(samples));
    }

    private static Sample parseSample(String line) {
        int i = 0;
        while (i < line.length() && (Character.isLetterOrDigit(line.charAt(i)) || line.charAt(i) == '_' || line.charAt(i) == ':')) {
            i++;
        }
        String name = line.substring(0, i);
        if (name.isEmpty()) {
            throw new IllegalArgumentException("no metric name");
        }
        Map<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String labelName = line.substring(i, eq);
                if (!labelName.matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
                    throw new IllegalArgumentException("bad label name " + labelName);
                }
                if (line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("label value not quoted");
                }
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                while (line.charAt(j) != '"') {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char escaped = line.charAt(++j);
                        switch (escaped) {
                            case '\\' -> value.append('\\');
                            case '"' -> value.append('"');
                            case 'n' -> value.append('\n');
                            default -> throw new IllegalArgumentException("bad escape \\" + escaped);
                        }
                    } else {
                        value.append(c);
                    }
                    j++;
                }
                if (labels.put(labelName, value.toString()) != null) {
                    throw new IllegalArgumentException("duplicate label " + labelName);
                }
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            i++;
        }
        if (line.charAt(i) != ' ') {
            throw new IllegalArgumentException("no space before the value");
        }
        String[] rest = line.substring(i + 1).split(" ");
        return new Sample(name, Map.copyOf(labels), Double.parseDouble(rest[0]));
    }

    /** The value of the one sample with exactly these labels, or 0 when absent (a counter never seen). */
    public double value(String name, String... labelPairs) {
        Map<String, String> wanted = new TreeMap<>();
        for (int k = 0; k < labelPairs.length; k += 2) {
            wanted.put(labelPairs[k], labelPairs[k + 1]);
        }
        List<Sample> matches = samples.stream().filter(s -> s.name.equals(name) && s.labels.equals(wanted)).toList();
        if (matches.size() > 1) {
            throw new AssertionError("duplicate series " + name + wanted);
        }
        return matches.isEmpty() ? 0 : matches.get(0).value;
    }

    /** The sum of a family's samples. */
    public double sum(String name) {
        return samples.stream().filter(s -> s.name.equals(name)).mapToDouble(Sample::value).sum();
    }

    public List<Sample> family(String name) {
        return samples.stream().filter(s -> s.name.equals(name)).toList();
    }

    public boolean hasFamily(String name) {
        return samples.stream().anyMatch(s -> s.name.equals(name));
    }
}
