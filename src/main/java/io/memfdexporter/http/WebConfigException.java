package io.memfdexporter.http;

/** --web.config.file cannot be used; the message names the file, the key and what is wrong. */
public class WebConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WebConfigException(String message) {
        super(message.replace('\n', ' ').replace('\r', ' ')); // one line, even with a parser's message inside
    }
}
