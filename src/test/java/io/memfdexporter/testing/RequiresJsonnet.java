package io.memfdexporter.testing;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * For the tests that render mixin/ with jsonnet: skipped, with the reason, on a
 * machine without jsonnet (a developer's, where the shipped files still pass
 * the promtool and dashboard tests), unless {@code MEMFD_EXPORTER_REQUIRE_BPF=1}
 * (CI), which turns the skip into a failure, as for {@link RequiresBpf}.
 */
public final class RequiresJsonnet implements ExecutionCondition, BeforeAllCallback {
    private static boolean required() {
        return "1".equals(System.getenv(RequiresBpf.REQUIRE_ENV));
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (Tool.JSONNET.find().isPresent() || required()) {
            return ConditionEvaluationResult.enabled("jsonnet is installed or required");
        }
        return ConditionEvaluationResult.disabled("mixin test skipped: " + Tool.JSONNET.missing() + " (set "
                + RequiresBpf.REQUIRE_ENV + "=1 to fail instead)");
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (Tool.JSONNET.find().isEmpty() && required()) {
            Assertions.fail(RequiresBpf.REQUIRE_ENV + "=1 but " + Tool.JSONNET.missing());
        }
    }
}
