package io.memfdexporter.cli;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Durations as node_exporter and Prometheus flags write them: {@code 15s}, {@code 1m30s}, {@code 500ms}. */
final class DurationConverter implements ITypeConverter<Duration> {
    private static final Pattern PART = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final Map<String, ChronoUnit> UNITS = Map.of(
            "ms", ChronoUnit.MILLIS, "s", ChronoUnit.SECONDS, "m", ChronoUnit.MINUTES, "h", ChronoUnit.HOURS);

    @Override
    public Duration convert(String value) {
        Duration total = Duration.ZERO;
        Matcher part = PART.matcher(value);
        int parsed = 0;
        while (parsed < value.length() && part.region(parsed, value.length()).lookingAt()) {
            total = total.plus(Long.parseLong(part.group(1)), UNITS.get(part.group(2)));
            parsed = part.end();
        }
        if (value.isEmpty() || parsed < value.length()) {
            throw new TypeConversionException("'" + value + "' is not a duration like 15s, 1m30s or 500ms");
        }
        return total;
    }
}
