package io.memfdexporter.cli;

import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One logfmt line per message on stderr, like Prometheus' own exporters. */
final class LogSetup {
    /* java.util.logging holds loggers weakly: a level set on an unreferenced logger can be lost. */
    private static final Logger NETTY = Logger.getLogger("io.netty");

    private LogSetup() {
    }

    static void configure(LogLevel threshold) {
        Logger root = Logger.getLogger("");
        for (var handler : root.getHandlers()) {
            root.removeHandler(handler);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(Level.ALL);
        handler.setFormatter(new LogfmtFormatter());
        root.addHandler(handler);
        root.setLevel(threshold.level);
        // Netty's debug output says nothing an exporter user needs.
        NETTY.setLevel(threshold.level.intValue() < Level.INFO.intValue() ? Level.INFO : threshold.level);
    }

    static final class LogfmtFormatter extends Formatter {
        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder(128)
                    .append("ts=").append(Instant.ofEpochMilli(record.getMillis()))
                    .append(" level=").append(levelName(record.getLevel()))
                    .append(" source=").append(shortName(record.getLoggerName()))
                    .append(" msg=").append(quote(formatMessage(record)));
            if (record.getThrown() != null) {
                line.append(" err=").append(quote(String.valueOf(record.getThrown())));
            }
            return line.append('\n').toString();
        }

        private static String levelName(Level level) {
            int value = level.intValue();
            if (value >= Level.SEVERE.intValue()) {
                return "error";
            }
            if (value >= Level.WARNING.intValue()) {
                return "warn";
            }
            return value >= Level.INFO.intValue() ? "info" : "debug";
        }

        private static String shortName(String logger) {
            return logger == null ? "" : logger.substring(logger.lastIndexOf('.') + 1);
        }

        private static String quote(String text) {
            return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
        }
    }
}
