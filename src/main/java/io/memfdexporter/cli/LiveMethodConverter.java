package io.memfdexporter.cli;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import io.memfdexporter.live.LiveScanner;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --collector.live.method}: auto, bpf-iterator or proc. */
final class LiveMethodConverter implements ITypeConverter<LiveScanner.Choice> {
    @Override
    public LiveScanner.Choice convert(String value) {
        for (LiveScanner.Choice choice : LiveScanner.Choice.values()) {
            if (flag(choice).equals(value)) {
                return choice;
            }
        }
        throw new TypeConversionException("'" + value + "' is not one of "
                + Arrays.stream(LiveScanner.Choice.values()).map(LiveMethodConverter::flag).collect(Collectors.joining(", ")));
    }

    private static String flag(LiveScanner.Choice choice) {
        return choice.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
