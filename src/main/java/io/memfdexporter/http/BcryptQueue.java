package io.memfdexporter.http;

import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.netty.util.NetUtil;

/**
 * The bcrypt checks of passwords not verified yet: one at a time, on one
 * thread, served round-robin first between client groups, then between the
 * addresses of a group, so that a flood of wrong passwords delays a newcomer by
 * at most one check per other flooding group (see docs/http.md for the exact
 * guarantee).
 * <p>
 * A group is what one attacker can cheaply spread over: every loopback address
 * (a local user can bind any of 127.0.0.0/8), an IPv4 /24, an IPv6 /48. An
 * address is an IPv4 address or an IPv6 /64, as a host usually gets a /64.
 * Within a group, addresses whose last check failed wait behind the others, so
 * that a flood from addresses that already failed delays a newcomer of the same
 * group by at most the check running.
 * <p>
 * Requests from one address with identical credentials share one check. A
 * check runs even when its client has gone away, so that a correct password
 * whose first request timed out in the queue is still remembered.
 */
final class BcryptQueue {
    /** Requests one address may have waiting (or running); its next one is refused. */
    static final int MAX_WAITING_PER_ADDRESS = 4;
    /**
     * Checks waiting in all. A new one beyond takes the place of the newest
     * check of the group with the most waiting, there of its address with the
     * most; it is refused only when its own group and address are those.
     */
    static final int MAX_WAITING_CHECKS = 1024;
    /** Addresses remembered as having failed a check, most recent first; older ones count as new. */
    static final int REMEMBERED_FAILURES = 4096;
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
        /* Addresses with waiting checks, in turn order: those without a recent failure first. */
        final ArrayDeque<Address> turns = new ArrayDeque<>();
        final ArrayDeque<Address> failedTurns = new ArrayDeque<>();
        int waiting;

        Group(String key) {
            this.key = key;
        }

        boolean hasTurns() {
            return !turns.isEmpty() || !failedTurns.isEmpty();
        }

        Address nextTurn() {
            Address next = turns.poll();
            return next != null ? next : failedTurns.poll();
        }

        List<Address> waitingAddresses() {
            List<Address> all = new ArrayList<>(turns);
            all.addAll(failedTurns);
            return all;
        }
    }

    private final Executor worker;
    /* Addresses whose last check failed, the most recent REMEMBERED_FAILURES: they wait behind the others of their group. */
    private final Map<String, Boolean> failed = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED_FAILURES;
        }
    };
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
        for (Consumer<Outcome> refused : enqueue(ip, fingerprint, matches, done)) {
            refused.accept(Outcome.REFUSED);
        }
    }

    /** @return the requests refused: this one, or those of a check it evicted, or none */
    private synchronized List<Consumer<Outcome>> enqueue(String ip, byte[] fingerprint, BooleanSupplier matches,
                                                         Consumer<Outcome> done) {
        Client client = Client.of(ip);
        Group group = groups.get(client.group());
        Address address = group == null ? null : group.addresses.get(client.address());
        if (address != null) {
            if (address.requests >= MAX_WAITING_PER_ADDRESS) {
                return List.of(done);
            }
            Check same = address == runningAddress && MessageDigest.isEqual(running.fingerprint, fingerprint) ? running
                    : address.waiting.stream().filter(check -> MessageDigest.isEqual(check.fingerprint, fingerprint))
                            .findFirst().orElse(null);
            if (same != null) {
                same.waiters.add(done);
                address.requests++;
                return List.of();
            }
        }
        List<Consumer<Outcome>> evicted = List.of();
        if (waitingChecks >= MAX_WAITING_CHECKS) {
            Address victim = largest(group, address);
            if (victim == null) {
                return List.of(done);
            }
            evicted = evict(victim);
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
            // Its turn comes after the addresses already waiting in its group, and its group's after the others.
            if (!group.hasTurns()) {
                turns.add(group);
            }
            takeTurn(address);
        }
        Check check = new Check(fingerprint, matches);
        check.waiters.add(done);
        address.waiting.add(check);
        address.requests++;
        group.waiting++;
        waitingChecks++;
        if (running == null) {
            startNext();
        }
        return evicted;
    }

    /**
     * The address whose newest check makes room for a new one from {@code group}
     * and {@code address} (null when new): in the group with the most waiting
     * checks, the address with the most. Null when the newcomer's own group and
     * address are those, counting the newcomer, ties included: a newcomer never
     * evicts a check from a group or address no larger than its own.
     */
    private Address largest(Group group, Address address) {
        Group largestGroup = group;
        int most = group == null ? 1 : group.waiting + 1;
        for (Group other : groups.values()) {
            if (other.waiting > most) {
                largestGroup = other;
                most = other.waiting;
            }
        }
        if (largestGroup == null) {
            return null;
        }
        Address largestAddress = largestGroup == group ? address : null;
        int mostInGroup = largestGroup == group ? (address == null ? 1 : address.waiting.size() + 1) : 0;
        for (Address other : largestGroup.waitingAddresses()) {
            if (other.waiting.size() > mostInGroup) {
                largestAddress = other;
                mostInGroup = other.waiting.size();
            }
        }
        return largestAddress == address ? null : largestAddress;
    }

    /** Drops the newest waiting check of an address; returns its requests, to be refused. */
    private List<Consumer<Outcome>> evict(Address address) {
        Check check = address.waiting.pollLast();
        Group group = address.group;
        waitingChecks--;
        group.waiting--;
        if (address.waiting.isEmpty()) {
            group.turns.remove(address);
            group.failedTurns.remove(address);
            if (!group.hasTurns()) {
                turns.remove(group);
            }
        }
        forget(address, check.waiters.size());
        return check.waiters;
    }

    /** Takes the next check, round-robin between groups and then between a group's addresses, and runs it. */
    private void startNext() {
        Group group = turns.poll();
        if (group == null) {
            running = null;
            runningAddress = null;
            return;
        }
        Address address = group.nextTurn();
        Check check = address.waiting.poll();
        waitingChecks--;
        group.waiting--;
        if (!address.waiting.isEmpty()) {
            takeTurn(address);
        }
        if (group.hasTurns()) {
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
            // The address's next check, if one is waiting, moves to the end of the line its outcome puts it in.
            Group group = runningAddress.group;
            if (outcome == Outcome.MATCH) {
                if (failed.remove(runningAddress.key) != null && group.failedTurns.remove(runningAddress)) {
                    group.turns.add(runningAddress);
                }
            } else if (failed.put(runningAddress.key, Boolean.TRUE) == null && group.turns.remove(runningAddress)) {
                group.failedTurns.add(runningAddress);
            }
            waiters = List.copyOf(check.waiters);
            forget(runningAddress, waiters.size());
            startNext();
        }
        for (Consumer<Outcome> waiter : waiters) {
            waiter.accept(outcome);
        }
    }

    /** Queues an address for its group's next turns: behind the others if it failed recently. */
    private void takeTurn(Address address) {
        (failed.containsKey(address.key) ? address.group.failedTurns : address.group.turns).add(address);
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
        private static final byte[] IPV4_MAPPED = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff};

        static Client of(String ip) {
            // Parses literals only: InetAddress.getByName would look up anything else in the DNS.
            byte[] bytes = ip == null ? null : NetUtil.createByteArrayFromIpAddressString(ip);
            if (bytes == null) {
                return new Client("unknown", "unknown");
            }
            if (bytes.length == 16 && Arrays.equals(bytes, 0, 12, IPV4_MAPPED, 0, 12)) {
                bytes = Arrays.copyOfRange(bytes, 12, 16);
            }
            HexFormat hex = HexFormat.of();
            boolean loopback = bytes.length == 4 ? bytes[0] == 127 : Arrays.equals(bytes, NetUtil.LOCALHOST6.getAddress());
            if (loopback) {
                return new Client("loopback", hex.formatHex(bytes));
            }
            if (bytes.length == 4) {
                return new Client(hex.formatHex(bytes, 0, 3) + "/24", hex.formatHex(bytes));
            }
            return new Client(hex.formatHex(bytes, 0, 6) + "/48", hex.formatHex(bytes, 0, 8) + "/64");
        }
    }
}
