package io.memfdexporter.probe;

/** How full one BPF hash map was when read. */
public record MapFill(String map, long entries, long capacity) {
}
