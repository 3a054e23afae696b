package io.memfdexporter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ListenAddressTest {
    @Test
    void parsesNodeExporterStyleAddresses() {
        assertEquals(new ListenAddress("0.0.0.0", 9822), ListenAddress.parse(":9822"));
        assertEquals(new ListenAddress("127.0.0.1", 0), ListenAddress.parse("127.0.0.1:0"));
        assertEquals(new ListenAddress("::1", 9822), ListenAddress.parse("[::1]:9822"));
        assertEquals(new ListenAddress("localhost", 80), ListenAddress.parse("localhost:80"));
        assertEquals("[::1]:9822", ListenAddress.parse("[::1]:9822").toString());
    }
}
