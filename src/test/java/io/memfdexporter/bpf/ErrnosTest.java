package io.memfdexporter.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ErrnosTest {
    @Test
    void namesLinuxErrnos() {
        assertEquals("EPERM", Errnos.name(1));
        assertEquals("EINVAL", Errnos.name(22));
        assertEquals("EMFILE", Errnos.name(24));
        assertEquals("ENOMEM", Errnos.name(12));
        assertEquals("EACCES", Errnos.name(13));
        assertEquals("EFAULT", Errnos.name(14));
        assertEquals("EAGAIN", Errnos.name(11), "not its alias EWOULDBLOCK");
        assertEquals("EDEADLK", Errnos.name(35), "not its alias EDEADLOCK");
        assertEquals("EOPNOTSUPP", Errnos.name(95), "not its alias ENOTSUP");
    }

    @Test
    void namesUnknownNumbersWithoutInventingAName() {
        assertEquals("errno4000", Errnos.name(4000));
        assertEquals("errno 4000", Errnos.describe(4000));
    }

    @Test
    void describesForHumans() {
        assertEquals("EPERM (Operation not permitted)", Errnos.describe(1));
    }
}
