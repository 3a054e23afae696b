package io.memfdexporter.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which cgroup2 mount is used, and how ids become paths, over a real directory
 * tree (a cgroup id is its directory's inode number, so any tree will do).
 */
class CgroupPathsTest {
    @TempDir
    Path tree;

    @Test
    void findsCgroup2WhereverItIsMountedAndSkipsMountPointsThatAreGone() throws IOException {
        Path spaced = Files.createDirectory(tree.resolve("cgroup two"));
        List<String> hybrid = List.of(
                "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
                "41 31 0:38 / " + tree.resolve("gone") + " rw,relatime shared:9 - cgroup2 cgroup2 rw",
                "42 31 0:38 /kubepods " + tree.resolve("cgroup\\040two") + " rw,relatime shared:9 master:1 - cgroup2 cgroup2 rw");
        assertEquals(Optional.of(new CgroupPaths.Mount(spaced, "/kubepods")), CgroupPaths.cgroup2Mount(hybrid));
        assertEquals(Optional.empty(), CgroupPaths.cgroup2Mount(hybrid.subList(0, 2)));
    }

    @Test
    void inAPodTheHostsTreeGivenAsAVolumeWinsOverThePodsOwnNamespace() throws IOException {
        Path own = Files.createDirectory(tree.resolve("own"));
        Path host = Files.createDirectory(tree.resolve("host"));
        List<String> pod = List.of(
                "1200 1190 0:27 / " + own + " ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw",
                "1210 1190 0:27 /../../../.. " + host + " ro,relatime - cgroup2 cgroup2 rw,nsdelegate");
        assertEquals(Optional.of(new CgroupPaths.Mount(host, "/")), CgroupPaths.cgroup2Mount(pod));
    }

    @Test
    void pathsAreRelativeToTheHierarchyRootEvenWhenTheMountIsASubtree() throws IOException {
        Path container = Files.createDirectories(tree.resolve("burstable/pod1/abc"));
        CgroupPaths paths = new CgroupPaths(Optional.of(new CgroupPaths.Mount(tree, "/kubepods")));
        assertEquals(Map.of(inode(container), "/kubepods/burstable/pod1/abc", inode(tree), "/kubepods"),
                paths.pathsOf(Set.of(inode(container), inode(tree))));
        CgroupPaths root = new CgroupPaths(Optional.of(new CgroupPaths.Mount(tree, "/")));
        assertEquals(Map.of(inode(container), "/burstable/pod1/abc", inode(tree), "/"),
                root.pathsOf(Set.of(inode(container), inode(tree))));
    }

    @Test
    void aCgroupMadeAfterAWalkIsFoundByTheNextOneAndARemovedOneIsForgotten() throws IOException {
        Path before = Files.createDirectories(tree.resolve("kubepods/pod-before"));
        CgroupPaths paths = new CgroupPaths(Optional.of(new CgroupPaths.Mount(tree, "/")));
        assertEquals(Map.of(inode(before), "/kubepods/pod-before"), paths.pathsOf(Set.of(inode(before))));
        assertEquals(1, paths.walks());

        Path after = Files.createDirectories(tree.resolve("kubepods/pod-after"));
        long afterId = inode(after);
        assertEquals(Map.of(inode(before), "/kubepods/pod-before", afterId, "/kubepods/pod-after"),
                paths.pathsOf(Set.of(inode(before), afterId)));
        assertEquals(2, paths.walks(), "one more walk, for the new id");
        paths.pathsOf(Set.of(inode(before), afterId));
        assertEquals(2, paths.walks(), "known ids need no walk");

        // A new id makes the next walk, which misses the removed one (made first: a file system may reuse inode numbers).
        long third = inode(Files.createDirectories(tree.resolve("kubepods/pod-third")));
        Files.delete(after);
        assertEquals(CgroupPaths.UNKNOWN, paths.pathsOf(Set.of(third, afterId)).get(afterId));
    }

    @Test
    void anIdNeverFoundIsRetriedABoundedNumberOfTimesThenCostsNoWalk() {
        CgroupPaths paths = new CgroupPaths(Optional.of(new CgroupPaths.Mount(tree, "/")));
        long nowhere = Long.MAX_VALUE;
        for (int scrape = 0; scrape < 10; scrape++) {
            assertEquals(Map.of(nowhere, CgroupPaths.UNKNOWN), paths.pathsOf(Set.of(nowhere)));
        }
        assertEquals(CgroupPaths.MAX_MISSES, paths.walks());
    }

    @Test
    void withoutACgroup2MountEveryIdIsUnknown() {
        CgroupPaths paths = new CgroupPaths(Optional.empty());
        assertEquals(Map.of(1L, CgroupPaths.UNKNOWN), paths.pathsOf(Set.of(1L)));
        assertEquals(0, paths.walks());
    }

    private static long inode(Path dir) throws IOException {
        return ((Number) Files.getAttribute(dir, "unix:ino")).longValue();
    }
}
