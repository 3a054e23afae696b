package io.memfdexporter.http;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The bcrypt checks of passwords not verified yet: one at a time, on one
 * thread, served round-robin first between client groups, then between the
 * addresses of a group, so that a flood of wrong passwords delays a newcomer by
 * at most one check per other flooding group (see the README for the exact
 * guarantee).
 * <p>
 * A group is what one attacker can cheaply spread over: every loopback address
 * (a local user can bind any of 127.0.0.0/8), an IPv4 /24, an IPv6 /48. An
 * address is an IPv4 address or an IPv6 /64, as a host usually gets a /64.
 * <p>
 * Requests from one address with identical credentials share one check. A
 * check runs even when its client has gone away, so that a correct password
 * whose first request timed out in the queue is still remembered.
 */
final class BcryptQueue {
    /** Requests one address may have waiting; its next one is refused. */
    static final int MAX_WAITING_PER_ADDRESS = 4;
    /** Addresses of one group with a check waiting or running; a new address of that group is refused. */
    static final int MAX_ADDRESSES_PER_GROUP = 64;
    /** Checks waiting in all; a request that would need another is refused. */
    static final int MAX_WAITING_CHECKS = 1024;
    private static final Logger LOG = Logger.getLogger(BcryptQueue.class.getName());

    /** How a request's check ended. */
    enum Outcome { MATCH, MISMATCH, REFUSED }

    /** One bcrypt check and the requests waiting for it. */
    private static final class Check {
        final byte[] fingerprint;
        final BooleanSupplier matches;
        final List<Consumer<Outcome>> waiters = new ArrayList<>(1);

        Check(byte[] fingerprint, BooleanSupplier matches) {
            this.fingerprint = fingerprint;
            this.matches = matches;
        }
    }

    private static final class Address {
        final String key;
        final Group group;
        final ArrayDeque<Check> waiting = new ArrayDeque<>();
        /* Requests waiting for one of its checks, the running one included. */
        int requests;

        Address(String key, Group group) {
            this.key = key;
            this.group = group;
        }
    }

    private static final class Group {
        final String key;
        final Map<String, Address> addresses = new HashMap<>();
        /* Addresses with waiting checks, in turn order. */
        final ArrayDeque<Address> turns = new ArrayDeque<>();

        Group(String key) {
            this.key = key;
        }
    }

    private final Executor worker;
    private final Map<String, Group> groups = new HashMap<>();
    /* Groups with waiting checks, in turn order. */
    private final ArrayDeque<Group> turns = new ArrayDeque<>();
    private int waitingChecks;
    /* The check on the worker now, and its address: identical requests join it. */
    private Check running;
    private Address runningAddress;

    /** @param worker runs one task at a time; each task is one bcrypt check */
    BcryptQueue(Executor worker) {
        this.worker = worker;
    }

    /**
     * Queues a check for a client, or joins an identical one from the same
     * address. {@code done} is called once, on the worker thread (or at once
     * with {@link Outcome#REFUSED}).
     *
     * @param ip the client's IP address, as text; null if unknown
     * @param fingerprint identifies the credentials
     * @param matches the bcrypt check, run on the worker
     */
    void submit(String ip, byte[] fingerprint, BooleanSupplier matches, Consumer<Outcome> done) {
        Outcome refused = enqueue(ip, fingerprint, matches, done);
        if (refused != null) {
            done.accept(refused);
        }
    }

    private synchronized Outcome enqueue(String ip, byte[] fingerprint, BooleanSupplier matches, Consumer<Outcome> done) {
        Client client = Client.of(ip);
        Group group = groups.get(client.group());
        Address address = group == null ? null : group.addresses.get(client.address());
        if (address != null) {
            if (address.requests >= MAX_WAITING_PER_ADDRESS) {
                return Outcome.REFUSED;
            }
            Check same = address == runningAddress && MessageDigest.isEqual(running.fingerprint, fingerprint) ? running
                    : address.waiting.stream().filter(check -> MessageDigest.isEqual(check.fingerprint, fingerprint))
                            .findFirst().orElse(null);
            if (same != null) {
                same.waiters.add(done);
                address.requests++;
                return null;
            }
        }
        if (waitingChecks >= MAX_WAITING_CHECKS
                || address == null && group != null && group.addresses.size() >= MAX_ADDRESSES_PER_GROUP) {
            return Outcome.REFUSED;
        }
        if (group == null) {
            group = new Group(client.group());
            groups.put(group.key, group);
        }
        if (address == null) {
            address = new Address(client.address(), group);
            group.addresses.put(address.key, address);
        }
        if (address.waiting.isEmpty()) {
            // Its turn comes after every address already waiting in its group, and its group's after the others.
            if (group.turns.isEmpty()) {
                turns.add(group);
            }
            group.turns.add(address);
        }
        Check check = new Check(fingerprint, matches);
        check.waiters.add(done);
        address.waiting.add(check);
        address.requests++;
        waitingChecks++;
        if (running == null) {
            startNext();
        }
        return null;
    }

    /** Takes the next check, round-robin between groups and then between a group's addresses, and runs it. */
    private void startNext() {
        Group group = turns.poll();
        if (group == null) {
            running = null;
            runningAddress = null;
            return;
        }
        Address address = group.turns.poll();
        Check check = address.waiting.poll();
        waitingChecks--;
        if (!address.waiting.isEmpty()) {
            group.turns.add(address);
        }
        if (!group.turns.isEmpty()) {
            turns.add(group);
        }
        running = check;
        runningAddress = address;
        worker.execute(() -> run(check));
    }

    private void run(Check check) {
        Outcome outcome;
        try {
            outcome = check.matches.getAsBoolean() ? Outcome.MATCH : Outcome.MISMATCH;
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "bcrypt check failed", e);
            outcome = Outcome.MISMATCH;
        }
        List<Consumer<Outcome>> waiters;
        synchronized (this) {
            waiters = List.copyOf(check.waiters);
            forget(runningAddress, waiters.size());
            startNext();
        }
        for (Consumer<Outcome> waiter : waiters) {
            waiter.accept(outcome);
        }
    }

    /** Removes an address, and its group, once nothing of theirs waits or runs. */
    private void forget(Address address, int answered) {
        address.requests -= answered;
        if (address.requests == 0) {
            address.group.addresses.remove(address.key);
            if (address.group.addresses.isEmpty()) {
                groups.remove(address.group.key);
            }
        }
    }

    /** The group and address keys of a client; clients whose address is unknown share one of each. */
    record Client(String group, String address) {
        static Client of(String ip) {
            InetAddress parsed = null;
            // Only a literal is parsed: a host name would mean a DNS lookup.
            if (ip != null && !ip.isEmpty() && (Character.digit(ip.charAt(0), 16) >= 0 || ip.charAt(0) == ':')) {
                try {
                    parsed = InetAddress.getByName(ip);
                } catch (UnknownHostException e) {
                    parsed = null;
                }
            }
            if (parsed == null) {
                return new Client("unknown", "unknown");
            }
            byte[] bytes = parsed.getAddress();
            HexFormat hex = HexFormat.of();
            if (parsed.isLoopbackAddress()) {
                return new Client("loopback", hex.formatHex(bytes));
            }
            if (parsed instanceof Inet4Address) {
                return new Client(hex.formatHex(bytes, 0, 3) + "/24", hex.formatHex(bytes));
            }
            return new Client(hex.formatHex(bytes, 0, 6) + "/48", hex.formatHex(bytes, 0, 8) + "/64");
        }
    }
}
