package io.memfdexporter.bpf;

/** BPF cannot be used on this machine or by this process; the message says what to do. */
public class BpfUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BpfUnavailableException(String message) {
        super(message);
    }
}
