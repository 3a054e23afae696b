package io.memfdexporter.cli;

import java.util.logging.LogManager;

/**
 * The JDK's LogManager resets (drops every handler) in its own shutdown hook,
 * which races with ours and loses the "stopped" message after SIGTERM. This
 * one keeps its handlers until the JVM is gone.
 */
public final class ShutdownSafeLogManager extends LogManager {
    @Override
    public void reset() {
        // Configuration is done once in LogSetup; nothing to reset.
    }
}
