package io.memfdexporter.metrics;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import io.memfdexporter.probe.CommKey;

/**
 * Turns a comm, which is whatever bytes a process chose, into a label value
 * that is valid UTF-8 and readable: valid UTF-8 is kept; bytes that are not
 * valid UTF-8 and control characters become {@code \xNN}. Different comms can
 * map to one label (a literal "\x01" and byte 0x01): the collector sums them.
 */
public final class CommLabel {
    /** Label of an empty comm (a thread may rename itself to ""), which Prometheus would treat as no label. */
    public static final String EMPTY = "(empty)";
    /** Label of a comm the probe did not see: an exec whose execve/execveat call it missed (32-bit compat execs). */
    public static final String UNKNOWN = "(unknown)";

    private CommLabel() {
    }

    public static String of(CommKey comm) {
        byte[] bytes = comm.bytes();
        if (bytes.length == 0) {
            return EMPTY;
        }
        if (comm.isPrintableAscii()) { // nearly every comm: kept as is, no decoder needed
            return new String(bytes, StandardCharsets.US_ASCII);
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer decoded = CharBuffer.allocate(bytes.length);
        StringBuilder label = new StringBuilder(bytes.length + 8);
        while (true) {
            CoderResult result = decoder.decode(in, decoded, true);
            appendEscapingControls(label, decoded.flip());
            decoded.clear();
            if (result.isUnderflow()) {
                return label.toString();
            }
            for (int i = 0; i < result.length(); i++) {
                appendHex(label, in.get() & 0xff);
            }
        }
    }

    private static void appendEscapingControls(StringBuilder label, CharBuffer chars) {
        while (chars.hasRemaining()) {
            char c = chars.get();
            if (c < 0x20 || c == 0x7f) {
                appendHex(label, c);
            } else {
                label.append(c);
            }
        }
    }

    private static void appendHex(StringBuilder label, int value) {
        label.append("\\x").append(Character.forDigit(value >> 4, 16)).append(Character.forDigit(value & 0xf, 16));
    }
}
