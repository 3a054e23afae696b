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
    // case (the anchors of docs/runbook.md). It must be absolute: Alertmanager, Grafana and
    // pagers open it as it is. Point it at the runbook of the version you run, or your own copy.
    runbookUrlBase: 'https://github.com/memfd-exporter/memfd_exporter/blob/main/docs/runbook.md',

    // The labels under which the exporter's series and node_exporter's name the same host, for
    // MemfdLiveMemoryHostHigh (memfd memory against node_memory_MemTotal_bytes). The defaults
    // match when instance names the host in both jobs (the PodMonitor in deploy/kubernetes/ and
    // kube-prometheus' node-exporter both set instance to the node's name); with host:port
    // instances, relabel both jobs to a common label and name it here.
    hostLabels: 'instance',
    // Label matchers, without braces, for node_exporter's node_memory_MemTotal_bytes ('' : any job).
    nodeExporterSelector: '',
    // Label matchers, without braces, for the Prometheus servers' own metrics
    // (prometheus_rule_evaluation_failures_total), which MemfdAlertRulesFailing reads: each
    // Prometheus that loads these rules must scrape itself (or be scraped by one that alerts).
    prometheusSelector: 'job="prometheus"',

    // MemfdExporterDown also fires for a target that was scraped within this long and has
    // vanished (its pod deleted, its static target removed): absence of a target that never
    // existed is a configuration matter, not a page.
    exporterDownLookback: '1d',

    // The "events in the last hour" of counters whose series appear with their first event
    // (memfd executions, executable mappings, memfd_secret calls) compare the count now with the
    // last sample at least an hour old, looking back this far for it: a scrape gap, a restart
    // with --bpf.pin-path or a Prometheus outage shorter than this never re-counts a lifetime
    // total as new. Longer costs more samples per evaluation.
    counterLookback: '1d',

    // The labels by which a threshold override may be scoped, least specific first: an override
    // is a threshold record carrying any subset of them (and the alert's key labels, e.g. errno),
    // the record naming more of them wins, and among as many the one naming a later label.
    // Duplicate records are harmless: the lowest value of equally specific records applies.
    thresholdScopeLabels: ['job', 'instance', 'comm'],

    // Default alert thresholds. Each becomes a recorded series
    // memfd_exporter:alert_threshold:<name> (see rules.libsonnet): alert expressions carry no
    // number, and a rule file of your own can override one for any scope (thresholdScopeLabels)
    // without re-rendering the mixin; see alerts/examples/thresholds.yml.
    thresholds: {
      // MemfdCreateFlood: calls per second by one comm, averaged over 5 minutes.
      floodCallsPerSecond: 100,
      // The same for comm="(other)", which sums the comms beyond --collector.max-comms: many
      // comms each well below floodCallsPerSecond add up there without any of them flooding.
      floodOtherCallsPerSecond: 1000,
      // MemfdCreateBurst: a process that makes more calls than this within one second alerts.
      // It must be one of the exporter's bucket bounds, a power of two (the le labels, in both
      // spellings, are derived: le.libsonnet).
      burstCallsPerSecond: 4096,
      // MemfdCreateFailures: failed calls per second by one comm with one errno, averaged
      // over 5 minutes. Only the errnos listed alert.
      failuresPerSecond: 0.1,
      failureErrnos: ['EMFILE', 'ENOMEM', 'EACCES'],
      // MemfdHugeSizeRequested: one ftruncate(2) or fallocate(2) of a memfd to more bytes than
      // this alerts (4 GiB). A bucket bound of memfd_requested_size_bytes: a power of two.
      requestedSizeBytes: 4294967296,
      // MemfdLiveMemoryHigh: bytes allocated to the memfds one comm holds now (1 GiB); scope
      // it by instance for hosts much larger or smaller than most.
      liveAllocatedBytes: 1073741824,
      // MemfdLiveMemoryHostHigh: all memfd memory held on a host, as a fraction of its
      // node_memory_MemTotal_bytes (only where node_exporter's series is there).
      liveHostMemoryRatio: 0.25,
      // MemfdCreateUnrecorded: events per hour that a full BPF map left unrecorded. Any, but for
      // the per-cgroup maps (calls_by_cgroup, failures_by_cgroup, ...): removed cgroups free their
      // entries, so they fill only with more than 4,096 cgroups active at once, and only the
      // per-cgroup breakdown is lost (comms, totals and bursts still count).
      unrecordedPerHour: 0,
      unrecordedByCgroupPerHour: 3600,
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
