package io.memfdexporter.cgroup;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The container and pod a cgroup v2 path names, read from the path alone (no
 * API server, no runtime socket), spelled as kube-state-metrics spells them so
 * that the join needs no label_replace: {@code container_id} as in
 * {@code kube_pod_container_info{container_id}}, runtime prefix included
 * ({@code containerd://<64 hex>}), and {@code pod_uid} as in
 * {@code kube_pod_info{uid}} (a lower-case UUID with dashes). Either is empty
 * when the path names none.
 *
 * <p>The path is chosen by whoever creates the cgroup, and a container
 * with a delegated subtree (systemd inside, rootless podman's user slice)
 * creates cgroups below its own with any names. So the outermost container
 * component wins, which the runtime created, and pod components count only
 * above it: a container cannot claim another's id by nesting a cgroup named
 * like it. A process that may create cgroups outside any container (a
 * service with systemd's Delegate=) can still name one like a pod's: the
 * identity says where the path points, not who made it.
 */
public record ContainerIdentity(String containerId, String podUid) {
    public static final ContainerIdentity NONE = new ContainerIdentity("", "");

    private static final String HEX64 = "([0-9a-f]{64})";
    /*
     * Container components. Systemd driver: a scope per
     * container named by the runtime (containerd "cri-containerd-", CRI-O
     * "crio-", Docker "docker-", podman "libpod-"); containerd with a
     * misconfigured driver writes "<pod slice>:cri-containerd:<id>". Cgroupfs
     * driver: CRI-O "crio-<id>", podman "libpod-<id>", Docker "/docker/<id>",
     * and a bare id under a pod directory, which is containerd's (cri-dockerd,
     * the only other runtime writing bare ids, is rare since Kubernetes 1.24
     * removed dockershim). Conmon scopes ("crio-conmon-", "libpod-conmon-")
     * are the runtime's monitor, not a container: no id.
     */
    private static final Pattern SCOPED = Pattern.compile(
            "(?:(cri-containerd|crio|docker|libpod)-" + HEX64 + "(?:\\.scope)?|.*:(cri-containerd|crio|docker):" + HEX64 + ")");
    private static final Pattern BARE = Pattern.compile(HEX64);
    /* Pod components: cgroupfs "pod<uid>" (dashes), systemd "kubepods[-<qos>]-pod<uid>.slice" (underscores; kind adds "kubelet-"). */
    private static final String UUID = "([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12})";
    private static final Pattern POD = Pattern.compile("(?:[a-z-]*-)?pod" + UUID + "(?:\\.slice)?(?::.*)?");

    /** The identity of a cgroup path relative to the cgroup2 root, e.g. "/kubepods/burstable/pod…/…". */
    public static ContainerIdentity of(String path) {
        String pod = "";
        String parent = "";
        for (String component : path.split("/")) {
            Matcher matcher = POD.matcher(component);
            if (pod.isEmpty() && matcher.matches()) { // before the container: "<pod slice>:cri-containerd:<id>" has both
                pod = matcher.group(1).replace('_', '-').toLowerCase(Locale.ROOT);
            }
            String container = containerOf(component, parent, pod);
            if (!container.isEmpty()) {
                return new ContainerIdentity(container, pod);
            }
            parent = component;
        }
        return pod.isEmpty() ? NONE : new ContainerIdentity("", pod);
    }

    /* A bare id is a container only where a runtime puts one: directly in a pod's directory or in /docker. */
    private static String containerOf(String component, String parent, String pod) {
        Matcher scoped = SCOPED.matcher(component);
        if (scoped.matches()) {
            String runtime = scoped.group(1) != null ? scoped.group(1) : scoped.group(3);
            String id = scoped.group(2) != null ? scoped.group(2) : scoped.group(4);
            return prefix(runtime) + id;
        }
        if (BARE.matcher(component).matches()) {
            if (parent.equals("docker")) {
                return "docker://" + component;
            }
            if (!pod.isEmpty() && POD.matcher(parent).matches()) {
                return "containerd://" + component;
            }
        }
        return "";
    }

    private static String prefix(String runtime) {
        return switch (runtime) {
            case "cri-containerd" -> "containerd://";
            case "crio" -> "cri-o://";
            case "docker" -> "docker://";
            case "libpod" -> "podman://";
            default -> throw new IllegalArgumentException(runtime);
        };
    }
}
