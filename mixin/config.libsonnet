// The settings a user of the mixin overrides, monitoring-mixins style:
//   (import 'memfd_exporter/mixin.libsonnet') + { _config+:: { memfdExporterSelector: 'job="memfd"' } }
{
  _config+:: {
    // Label matchers, without braces, that select the exporter's series in every rule and
    // dashboard query (and the targets of MemfdExporterDown). Add the labels that tell your
    // exporters apart from other jobs, e.g. 'job="memfd_exporter", cluster="prod"'.
    memfdExporterSelector: 'job="memfd_exporter"',

    // The labels that tell one exporter (one host) from another, for the alerts that aggregate
    // or match per exporter (MemfdCreateBurst, MemfdHugeSizeRequested, MemfdExporterNotCounting,
    // MemfdExporterLiveScanStale). Add e.g. cluster when the same job and instance names exist
    // in several clusters: 'cluster, job, instance'.
    instanceLabels: 'job, instance',

    // Where each alert's runbook_url points: this base, then '#' and the alert's name in lower
    // case (the anchors of docs/runbook.md). Relative to the repository root by default; point it
    // at your copy of the runbook, e.g. 'https://github.com/…/blob/main/docs/runbook.md'.
    runbookUrlBase: 'docs/runbook.md',

    // Default alert thresholds. Each becomes a recorded series
    // memfd_exporter:alert_threshold:<name> (see rules.libsonnet): alert expressions carry no
    // number, and a rule file of your own can override one per comm (or per comm and kind)
    // without re-rendering the mixin; see alerts/examples/thresholds.yml.
    thresholds: {
      // MemfdCreateFlood: calls per second by one comm, averaged over 5 minutes.
      floodCallsPerSecond: 100,
      // MemfdCreateBurst: a process that makes more calls than this within one second alerts.
      // It must be one of the exporter's bucket bounds, a power of two (the le label is derived).
      burstCallsPerSecond: 4096,
      // MemfdCreateFailures: failed calls per second by one comm with one errno, averaged
      // over 5 minutes. Only the errnos listed alert.
      failuresPerSecond: 0.1,
      failureErrnos: ['EMFILE', 'ENOMEM', 'EACCES'],
      // MemfdHugeSizeRequested: one ftruncate(2) or fallocate(2) of a memfd to more bytes than
      // this alerts (4 GiB). A bucket bound of memfd_requested_size_bytes: a power of two.
      requestedSizeBytes: 4294967296,
      // MemfdLiveMemoryHigh: bytes allocated to the memfds one comm holds now (1 GiB).
      liveAllocatedBytes: 1073741824,
      // MemfdSecretUsed: memfd_secret(2) calls by one comm in the last hour. 0: any call alerts.
      secretCallsPerHour: 0,
      // MemfdExecutableMapping: calls that made a memfd's pages executable, by one comm with
      // one kind, in the last hour. 0: any call alerts.
      execMappingsPerHour: 0,
      // MemfdExecutableMappingUnchecked: PROT_EXEC requests the probe could not examine, per
      // instance in the last hour. 0: any alerts. Raise it on hosts whose JITs flip code
      // pages executable from many threads at once.
      execMappingsUncheckedPerHour: 0,
      // MemfdLiveExecutableCode: processes of one comm running code from memfds now. 0: any
      // process alerts.
      liveExecutableProcesses: 0,
      // MemfdExporterLiveScanStale: age of the last completed live scan, in seconds: 8 times the
      // default --collector.live.interval of 15s. Raise it with a longer interval.
      liveScanAgeSeconds: 120,
    },

    // The Grafana dashboard.
    dashboard: {
      uid: 'memfd-exporter',
      title: 'memfd_exporter',
      tags: ['memfd_exporter', 'ebpf', 'security'],
      refresh: '30s',
      timeFrom: 'now-1h',
      // Label matchers, without braces, that select kube-state-metrics' kube_pod_container_info
      // for the namespace / pod / container drill-down. Its namespace, pod and container labels
      // must be the pod's, not kube-state-metrics' own target labels: scrape it with
      // honor_labels: true (kube-prometheus and its Helm chart do). Without kube-state-metrics
      // the drill-down shows cgroup paths.
      kubeStateMetricsSelector: 'job="kube-state-metrics"',
    },
  },
}
