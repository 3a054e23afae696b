package io.memfdexporter.http;

/**
 * A {@code host:port} listen address in node_exporter's syntax: {@code :9822}
 * (all interfaces), {@code 127.0.0.1:9822}, {@code [::1]:9822}. Port 0 picks a free port.
 */
public record ListenAddress(String host, int port) {
    public static final String ALL_INTERFACES = "0.0.0.0";

    public static ListenAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("listen address '" + text + "' has no port: use host:port or :port");
        }
        String host = text.substring(0, colon);
        String portText = text.substring(colon + 1);
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("listen address '" + text + "' has an invalid port '" + portText + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("listen address '" + text + "' has port " + port + " outside 0-65535");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("listen address '" + text + "': write IPv6 hosts in brackets, e.g. [::1]:9822");
        }
        return new ListenAddress(host.isEmpty() ? ALL_INTERFACES : host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
