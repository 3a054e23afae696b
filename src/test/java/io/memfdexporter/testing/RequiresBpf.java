package io.memfdexporter.testing;

import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.memfdexporter.bpf.BpfUnavailableException;
import io.memfdexporter.bpf.Capabilities;
import io.memfdexporter.bpf.Native;

/**
 * For test classes that load the real BPF program: they are skipped, with the
 * reason, where this process may not use BPF, unless
 * {@code MEMFD_EXPORTER_REQUIRE_BPF=1} (set by CI), which turns the skip into a failure.
 */
public final class RequiresBpf implements ExecutionCondition, BeforeAllCallback {
    public static final String REQUIRE_ENV = "MEMFD_EXPORTER_REQUIRE_BPF";

    private static boolean required() {
        return "1".equals(System.getenv(REQUIRE_ENV));
    }

    /** Skips each test, reporting why, where BPF is unavailable and not required. */
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String reason = unavailableReason();
        if (reason == null || required()) {
            return ConditionEvaluationResult.enabled("BPF is available or required");
        }
        return ConditionEvaluationResult.disabled("kernel test skipped: " + reason + " (run as root; set "
                + REQUIRE_ENV + "=1 to fail instead)");
    }

    /** Fails the class where BPF is required but unavailable. */
    @Override
    public void beforeAll(ExtensionContext context) {
        String reason = unavailableReason();
        if (reason != null && required()) {
            Assertions.fail(REQUIRE_ENV + "=1 but the kernel tests cannot run: " + reason);
        }
    }

    private static String unavailableReason() {
        List<String> missing = Capabilities.ofThisProcess().missingForTracing();
        if (!missing.isEmpty()) {
            return "missing " + String.join(", ", missing);
        }
        try {
            Native.get();
        } catch (BpfUnavailableException e) {
            return e.getMessage();
        }
        return null;
    }
}
