package io.memfdexporter.privileges;

/**
 * What the exporter holds now, for people (the landing page): read from
 * /proc/self/status on each call, so it shows the state after a privilege drop.
 *
 * @param uids real, effective, saved and file system uid
 * @param effective effective capability names, e.g. "CAP_PERFMON, CAP_BPF", or "none"
 * @param permitted permitted capability names, or "none"
 */
public record HeldPrivileges(java.util.List<Integer> uids, String effective, String permitted, boolean noNewPrivs) {

    public static HeldPrivileges ofThisProcess() {
        ThreadCredentials self = ThreadCredentials.ofMainThread();
        return new HeldPrivileges(self.uids(), CapabilityNames.describe(self.effective()),
                CapabilityNames.describe(self.permitted()), self.noNewPrivs());
    }
}
