package io.memfdexporter.cli;

import java.util.logging.Level;

/** {@code --log.level} values, mapped onto java.util.logging. */
enum LogLevel {
    debug(Level.FINE), info(Level.INFO), warn(Level.WARNING), error(Level.SEVERE);

    final Level level;

    LogLevel(Level level) {
        this.level = level;
    }
}
