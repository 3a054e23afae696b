package io.memfdexporter.http;

/** The listen address could not be bound (in use, not local, not permitted). */
public class ListenException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ListenException(String message, Throwable cause) {
        super(message, cause);
    }
}
