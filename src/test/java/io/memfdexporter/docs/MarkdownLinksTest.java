package io.memfdexporter.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.memfdexporter.testing.Markdown;

/**
 * Every relative link and #anchor of the front page, BENCHMARKS.md and the docs/ pages leads somewhere: sections
 * move between pages, and a link left behind would break silently on GitHub.
 */
class MarkdownLinksTest {
    @Test
    void everyRelativeLinkAndAnchorResolves() throws IOException {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path page : pages()) {
            for (Markdown.Link link : Markdown.links(page)) {
                if (link.target().matches("^[a-z][a-z0-9+.-]*:.*")) {
                    continue; // https:, mailto: … are not files of the repository
                }
                checked++;
                String problem = problem(page, link.target());
                if (problem != null) {
                    broken.add(page + ":" + link.line() + ": (" + link.target() + ") " + problem);
                }
            }
        }
        assertEquals(List.of(), broken, "broken links");
        assertTrue(checked > 50, "only " + checked + " relative links found: is the link pattern still right?");
    }

    /** GitHub's anchors as the checker computes them, on headings taken from this repository's pages. */
    @Test
    void anchorsAreGithubs() {
        assertEquals("restarts-without-loss---bpfpin-path", Markdown.githubAnchor("Restarts without loss: `--bpf.pin-path`"));
        assertEquals("live-memfd-memory-who-holds-it-now", Markdown.githubAnchor("Live memfd memory: who holds it now"));
        assertEquals("memfd_secret", Markdown.githubAnchor("memfd_secret"));
        assertEquals("tls-client-certificates-and-basic-auth", Markdown.githubAnchor("TLS, client certificates and basic auth"));
    }

    private static String problem(Path page, String target) throws IOException {
        int hash = target.indexOf('#');
        String file = URLDecoder.decode(hash < 0 ? target : target.substring(0, hash), StandardCharsets.UTF_8);
        Path resolved = file.isEmpty() ? page : page.resolveSibling(file).normalize();
        if (resolved.startsWith("..") || !Files.exists(resolved)) {
            return "no such file: " + resolved;
        }
        if (hash >= 0 && resolved.toString().endsWith(".md")) {
            String anchor = target.substring(hash + 1);
            if (!Markdown.anchors(resolved).contains(anchor)) {
                return "no heading with anchor #" + anchor + " in " + resolved;
            }
        }
        return null;
    }

    private static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(Path.of("README.md"), Path.of("BENCHMARKS.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(page -> page.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }
}
