package io.memfdexporter.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Container ids and pod UIDs from the cgroup paths runtimes and kubelets write, as kube-state-metrics spells them. */
class ContainerIdentityTest {
    private static final String ID = "3f1c9a7be05d4c2f8a6e1b0d9c8f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e";
    private static final String OTHER_ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static final String UID = "6c0d2e0a-6f7b-4bd1-9a3e-0b1c2d3e4f50";
    private static final String UID_SYSTEMD = UID.replace('-', '_');
    private static final String OTHER_UID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    static Stream<Arguments> paths() {
        return Stream.of(
                // containerd, systemd driver: burstable, besteffort, guaranteed (no QoS slice)
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_SYSTEMD + ".slice/cri-containerd-" + ID + ".scope",
                        "containerd://" + ID, UID),
                row("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_SYSTEMD + ".slice/cri-containerd-" + ID + ".scope",
                        "containerd://" + ID, UID),
                row("/kubepods.slice/kubepods-pod" + UID_SYSTEMD + ".slice/cri-containerd-" + ID + ".scope", "containerd://" + ID, UID),
                // kind and other kubelets nested under a kubelet slice
                row("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod"
                        + UID_SYSTEMD + ".slice/cri-containerd-" + ID + ".scope", "containerd://" + ID, UID),
                // containerd with SystemdCgroup but a cgroupfs kubelet: one component names pod and container
                row("/system.slice/containerd.service/kubepods-burstable-pod" + UID_SYSTEMD + ".slice:cri-containerd:" + ID,
                        "containerd://" + ID, UID),
                // containerd (and k3s), cgroupfs driver: a bare id in the pod's directory
                row("/kubepods/burstable/pod" + UID + "/" + ID, "containerd://" + ID, UID),
                row("/kubepods/besteffort/pod" + UID + "/" + ID, "containerd://" + ID, UID),
                row("/kubepods/pod" + UID + "/" + ID, "containerd://" + ID, UID),
                // CRI-O: systemd and cgroupfs; its conmon scope is no container
                row("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_SYSTEMD + ".slice/crio-" + ID + ".scope",
                        "cri-o://" + ID, UID),
                row("/kubepods/besteffort/pod" + UID + "/crio-" + ID, "cri-o://" + ID, UID),
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_SYSTEMD + ".slice/crio-conmon-" + ID + ".scope",
                        "", UID),
                // a process in a sub-cgroup a container made (systemd in a container, cgroup namespaces)
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_SYSTEMD + ".slice/crio-" + ID
                        + ".scope/init.scope", "cri-o://" + ID, UID),
                // Docker: systemd and cgroupfs drivers, and under a kubelet (cri-dockerd)
                row("/system.slice/docker-" + ID + ".scope", "docker://" + ID, ""),
                row("/docker/" + ID, "docker://" + ID, ""),
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_SYSTEMD + ".slice/docker-" + ID + ".scope",
                        "docker://" + ID, UID),
                // podman: root (systemd), rootless (the user's systemd), cgroupfs, and its conmon
                row("/machine.slice/libpod-" + ID + ".scope", "podman://" + ID, ""),
                row("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + ID + ".scope", "podman://" + ID, ""),
                row("/libpod_parent/libpod-" + ID, "podman://" + ID, ""),
                row("/machine.slice/libpod-conmon-" + ID + ".scope", "", ""),
                // a pod's own cgroup, not a container's
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_SYSTEMD + ".slice", "", UID),
                row("/kubepods/burstable/pod" + UID, "", UID),
                // upper-case UUIDs are spelled lower-case, as the API server does
                row("/kubepods/burstable/pod" + UID.toUpperCase() + "/" + ID, "containerd://" + ID, UID),
                // names nested inside a container cannot claim another container or pod
                row("/system.slice/docker-" + ID + ".scope/docker-" + OTHER_ID + ".scope", "docker://" + ID, ""),
                row("/kubepods/burstable/pod" + UID + "/" + ID + "/pod" + OTHER_UID + "/" + OTHER_ID, "containerd://" + ID, UID),
                // no container: host services, the root, labels that are no path
                row("/system.slice/ssh.service", "", ""),
                row("/", "", ""),
                row("/init.scope", "", ""),
                row("(unknown)", "", ""),
                row("(other)", "", ""),
                // near misses: a bare id outside a pod or /docker, ids of the wrong length or case
                row("/system.slice/" + ID, "", ""),
                row("/docker/" + ID.substring(1), "", ""),
                row("/system.slice/docker-" + ID.toUpperCase() + ".scope", "", ""),
                row("/kubepods/burstable/pod" + UID.substring(1) + "/" + ID, "", ""));
    }

    private static Arguments row(String path, String containerId, String podUid) {
        return Arguments.of(path, containerId, podUid);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("paths")
    void namesTheContainerAndPodOfAPathAsKubeStateMetricsDoes(String path, String containerId, String podUid) {
        assertEquals(new ContainerIdentity(containerId, podUid), ContainerIdentity.of(path));
    }
}
