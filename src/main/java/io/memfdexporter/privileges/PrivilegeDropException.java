package io.memfdexporter.privileges;

/** The exporter could not drop the privileges it was asked to drop; the message says why and what to do. */
public class PrivilegeDropException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PrivilegeDropException(String message) {
        super(message);
    }
}
