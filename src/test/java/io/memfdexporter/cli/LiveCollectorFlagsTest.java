package io.memfdexporter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.memfdexporter.Exporter;
import io.memfdexporter.live.LiveScanner;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

class LiveCollectorFlagsTest {
    @Test
    void liveCollectorIsOnEvery15sWithAFdBudgetByDefault() {
        Exporter.Config config = parse();

        assertTrue(config.live());
        assertEquals(Duration.ofSeconds(15), config.liveInterval());
        assertEquals(200_000, config.liveMaxFds());
    }

    @Test
    void noCollectorLiveTurnsItOff() {
        assertFalse(parse("--no-collector.live").live());
    }

    @Test
    void intervalTakesPrometheusStyleDurations() {
        assertEquals(Duration.ofSeconds(90), parse("--collector.live.interval=1m30s").liveInterval());
        assertEquals(Duration.ofMillis(2500), parse("--collector.live.interval=2s500ms").liveInterval());
        assertEquals(Duration.ofHours(1), parse("--collector.live.interval=1h").liveInterval());
    }

    @Test
    void intervalWithoutUnitOrBelowOneSecondIsAUsageError() {
        assertThrows(ParameterException.class, () -> parse("--collector.live.interval=15"));
        assertThrows(ParameterException.class, () -> parse("--collector.live.interval=15s "));
        assertThrows(ParameterException.class, () -> parse("--collector.live.interval=999ms"));
        assertThrows(ParameterException.class, () -> parse("--collector.live.interval=0s"));
    }

    @Test
    void fdBudgetMustBePositive() {
        assertEquals(5000, parse("--collector.live.max-fds=5000").liveMaxFds());
        assertThrows(ParameterException.class, () -> parse("--collector.live.max-fds=0"));
    }

    @Test
    void methodIsAutoByDefaultAndTakesBpfIteratorOrProc() {
        assertEquals(LiveScanner.Choice.AUTO, parse().liveMethod());
        assertEquals(LiveScanner.Choice.BPF_ITERATOR, parse("--collector.live.method=bpf-iterator").liveMethod());
        assertEquals(LiveScanner.Choice.PROC, parse("--collector.live.method=proc").liveMethod());
        assertEquals(LiveScanner.Choice.AUTO, parse("--collector.live.method=auto").liveMethod());
        ParameterException bad = assertThrows(ParameterException.class, () -> parse("--collector.live.method=bpf_iterator"));
        assertTrue(bad.getMessage().contains("not one of auto, bpf-iterator, proc"), bad.getMessage());
    }

    private static Exporter.Config parse(String... args) {
        Main main = new Main();
        new CommandLine(main).parseArgs(args);
        return main.config();
    }
}
