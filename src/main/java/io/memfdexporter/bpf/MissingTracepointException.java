package io.memfdexporter.bpf;

/** The running kernel has no such tracepoint (e.g. its syscall is configured out). */
public final class MissingTracepointException extends BpfUnavailableException {
    private static final long serialVersionUID = 1L;

    MissingTracepointException(String message) {
        super(message);
    }
}
