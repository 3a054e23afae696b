package io.memfdexporter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** A Grafana dashboard JSON file: its panels (rows and their panels included), their queries, its variables. */
public final class Dashboard {
    /** The shipped dashboard, relative to the project directory (the tests' working directory). */
    public static final Path SHIPPED = Path.of("dashboards", "memfd_exporter.json");

    /** One target of one panel. */
    public record Query(String panel, String refId, String expr) {
        public String substitute(Map<String, String> values) {
            return Dashboard.substitute(expr, values);
        }
    }

    /**
     * An expression as Grafana would send it: dashboard variables and
     * {@code $__rate_interval} replaced by the given values (names without {@code $}).
     */
    public static String substitute(String expr, Map<String, String> values) {
        String result = expr;
        for (Map.Entry<String, String> value : values.entrySet()) {
            result = result.replace("${" + value.getKey() + "}", value.getValue())
                    .replace("$" + value.getKey(), value.getValue());
        }
        if (VARIABLE.matcher(result).find()) {
            throw new AssertionError("a variable is left in " + result);
        }
        return result;
    }

    /** A variable: $ and a name ($1 in label_replace is a regular expression's group, not a variable). */
    private static final java.util.regex.Pattern VARIABLE = java.util.regex.Pattern.compile("\\$\\{?[A-Za-z_]");

    private final JsonObject json;

    private Dashboard(JsonObject json) {
        this.json = json;
    }

    /** A dashboard as jsonnet renders it from mixin/. */
    public static Dashboard of(JsonObject json) {
        return new Dashboard(json);
    }

    public static Dashboard read(Path path) throws IOException {
        return new Dashboard(new JsonObject(Files.readString(path, StandardCharsets.UTF_8)));
    }

    public JsonObject json() {
        return json;
    }

    /** Every panel, rows included, with the panels of collapsed rows (which Grafana nests in the row). */
    public List<JsonObject> panels() {
        List<JsonObject> panels = new ArrayList<>();
        for (Object panel : json.getJsonArray("panels")) {
            JsonObject object = (JsonObject) panel;
            panels.add(object);
            for (Object nested : object.getJsonArray("panels", new JsonArray())) {
                panels.add((JsonObject) nested);
            }
        }
        return panels;
    }

    /** The queries of every panel, then of every annotation (its panel is "annotation NAME", its refId the empty string). */
    public List<Query> queries() {
        List<Query> queries = new ArrayList<>();
        for (JsonObject panel : panels()) {
            for (Object target : panel.getJsonArray("targets", new JsonArray())) {
                JsonObject object = (JsonObject) target;
                queries.add(new Query(panel.getString("title"), object.getString("refId"), object.getString("expr")));
            }
        }
        for (Object annotation : json.getJsonObject("annotations").getJsonArray("list")) {
            JsonObject object = (JsonObject) annotation;
            queries.add(new Query("annotation " + object.getString("name"), "", object.getString("expr")));
        }
        return queries;
    }

    public JsonObject variable(String name) {
        return json.getJsonObject("templating").getJsonArray("list").stream().map(JsonObject.class::cast)
                .filter(variable -> name.equals(variable.getString("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("the dashboard has no variable " + name));
    }
}
