// Alerting rules. Every alert has a section in docs/runbook.md (runbook_url: see
// runbookUrlBase in config.libsonnet) and promtool tests in alerts/tests/ proving when it
// fires and when it stays silent. Thresholds are the series recorded in rules.libsonnet,
// which these alerts need: load prometheusRules with them.
{
  // runbook_url: the runbook's section of the alert's own name.
  local withRunbook(rule) = rule {
    annotations+: { runbook_url: '%s#%s' % [$._config.runbookUrlBase, std.asciiLower(rule.alert)] },
  },

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'memfd_exporter.alerts',
        rules: std.map(withRunbook, [
          {
            alert: 'MemfdCreateFlood',
            // Comms with their own threshold are compared with it, every other comm with the default.
            expr: |||
              (
                  instance_comm:memfd_create_calls:rate5m{%(memfdExporterSelector)s}
                > on (comm) group_left ()
                  memfd_exporter:alert_threshold:flood_calls_per_second{comm!=""}
              )
              or
              (
                  (
                      instance_comm:memfd_create_calls:rate5m{%(memfdExporterSelector)s}
                    unless on (comm)
                      memfd_exporter:alert_threshold:flood_calls_per_second{comm!=""}
                  )
                > on () group_left ()
                  memfd_exporter:alert_threshold:flood_calls_per_second{comm=""}
              )
            ||| % $._config,
            'for': '10m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Sustained memfd_create(2) flood from {{ $labels.comm }}.',
              description: '{{ $labels.comm }} on {{ $labels.instance }} has called memfd_create(2) {{ $value | humanize }} times per second (5-minute average), above its flood threshold.',
            },
          },
          {
            alert: 'MemfdCreateBurst',
            expr: |||
              (
                  sum by (%(instanceLabels)s) (increase(memfd_create_calls_per_process_second_count{%(memfdExporterSelector)s}[5m]))
                - on (%(instanceLabels)s) group_right ()
                  sum by (%(instanceLabels)s, le) (
                      increase(memfd_create_calls_per_process_second_bucket{%(memfdExporterSelector)s}[5m])
                    and on (le)
                      memfd_exporter:alert_threshold:burst_calls_per_second
                  )
              ) > 0
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: 'A process made a burst of memfd_create(2) calls on {{ $labels.instance }}.',
              description: 'In the last 5 minutes, a process on {{ $labels.instance }} made more than {{ reReplaceAll "\\\\.0$" "" $labels.le }} memfd_create(2) calls within one second (one-second windows above that: {{ $value | humanize }}).',
            },
          },
          {
            alert: 'MemfdCreateFailures',
            expr: |||
              instance_comm_errno:memfd_create_failures:rate5m{%(memfdExporterSelector)s}
                > on (errno) group_left ()
              memfd_exporter:alert_threshold:failures_per_second
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfd_create(2) fails with {{ $labels.errno }} for {{ $labels.comm }}.',
              description: 'memfd_create(2) calls by {{ $labels.comm }} on {{ $labels.instance }} fail with {{ $labels.errno }} {{ $value | printf "%.2f" }} times per second (5-minute average).',
            },
          },
          {
            alert: 'MemfdCreateUnrecorded',
            // Any event a per-key map could not record: attribution is lost until a restart with
            // larger maps. The 1-hour window keeps the alert up while new comms keep arriving. It
            // covers the memfd_create, memfd_secret, exec, exec mapping and sizes maps (its name predates
            // the last four); label_replace names the maps of the counters without a map label.
            expr: |||
              increase(memfd_create_unrecorded_total{%(memfdExporterSelector)s}[1h]) > 0
              or
              increase(memfd_secret_unrecorded_total{%(memfdExporterSelector)s}[1h]) > 0
              or
              label_replace(increase(memfd_exec_unrecorded_total{%(memfdExporterSelector)s}[1h]), "map", "execs_by_comm", "", "") > 0
              or
              label_replace(increase(memfd_exec_mappings_unrecorded_total{%(memfdExporterSelector)s}[1h]), "map", "exec_mappings_by_comm", "", "") > 0
              or
              label_replace(increase(memfd_requested_unrecorded_bytes_total{%(memfdExporterSelector)s}[1h]), "map", "requested_bytes_by_comm", "", "") > 0
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'BPF map {{ $labels.map }} is full on {{ $labels.instance }}.',
              description: '{{ if eq $labels.map "requested_bytes_by_comm" }}{{ $value | humanize1024 }}B of memfd size requests{{ else }}{{ $value | humanize }} {{ if eq $labels.map "execs_by_comm" }}memfd executions{{ else if eq $labels.map "exec_mappings_by_comm" }}executable memfd mappings{{ else if match "^secret_" $labels.map }}memfd_secret(2) calls{{ else }}memfd_create(2) calls{{ end }}{{ end }} in the last hour on {{ $labels.instance }} were counted in the totals only, because the BPF map {{ $labels.map }} was full.',
            },
          },
          {
            alert: 'MemfdFilelessExecution',
            // Any execution of a memfd but runc's re-exec of itself (memfd_name_kind="runc": a memfd named
            // runc_cloned:* executed by root's runc, as the kernel sees the caller; the name alone is "other").
            expr: 'instance_comm_memfd_name_kind:memfd_exec:increase1h{%(memfdExporterSelector)s, memfd_name_kind="other"} > 0' % $._config,
            'for': '0m',
            labels: { severity: 'critical' },
            annotations: {
              summary: '{{ $labels.comm }} executed a {{ if eq $labels.via "interpreter" }}script{{ else }}program{{ end }} from a memfd on {{ $labels.instance }}.',
              description: '{{ $labels.comm }} on {{ $labels.instance }} executed {{ if eq $labels.via "interpreter" }}scripts (through their interpreter){{ else }}programs{{ end }} from memfds, which exist in no file system (fileless execution); executions in the last hour: {{ $value | humanize }}.',
            },
          },
          {
            alert: 'MemfdExecutableMapping',
            // Code loaded from a memfd without exec: an mmap(2) or mprotect(2) that made memfd pages
            // executable (dlopen of /proc/self/fd/N, in-memory ELF loaders, the MemoryDenyWriteExecute=
            // bypass). kind is what the kernel showed about the memfd, never its name: double_mapped is
            // the W^X pattern of JITs such as .NET's, which gets a warning; plain and sealed are critical.
            // Comms with their own (comm, kind) threshold are compared with it, the rest with the default.
            expr: |||
              (
                  instance_comm_kind:memfd_exec_mappings:increase1h{%(memfdExporterSelector)s}
                > on (comm, kind) group_left ()
                  memfd_exporter:alert_threshold:exec_mappings_per_hour{comm!=""}
              )
              or
              (
                  (
                      instance_comm_kind:memfd_exec_mappings:increase1h{%(memfdExporterSelector)s}
                    unless on (comm, kind)
                      memfd_exporter:alert_threshold:exec_mappings_per_hour{comm!=""}
                  )
                > on () group_left ()
                  memfd_exporter:alert_threshold:exec_mappings_per_hour{comm=""}
              )
            ||| % $._config,
            'for': '0m',
            labels: { severity: '{{ if eq $labels.kind "double_mapped" }}warning{{ else }}critical{{ end }}' },
            annotations: {
              summary: '{{ $labels.comm }} mapped memfd pages executable on {{ $labels.instance }}.',
              description: '{{ $labels.comm }} on {{ $labels.instance }} made memfd pages executable with mmap(2) or mprotect(2) ({{ $labels.kind }}{{ if eq $labels.kind "double_mapped" }}: the memfd is also mapped writable, as JITs do{{ else if eq $labels.kind "sealed" }}: the memfd is write-sealed{{ else }}: code written into a memfd, then mapped executable{{ end }}); calls in the last hour: {{ $value | humanize }}.',
            },
          },
          {
            alert: 'MemfdExecutableMappingUnchecked',
            // A call asking for PROT_EXEC that the probe could not examine is a call that may have made
            // memfd pages executable unseen: a process can cause it on purpose by keeping its address
            // space's lock busy from other threads while it calls mprotect(2).
            expr: |||
              increase(memfd_exec_mappings_unchecked_total{%(memfdExporterSelector)s}[1h])
                > on () group_left ()
              memfd_exporter:alert_threshold:exec_mappings_unchecked_per_hour
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Executable mappings went unexamined on {{ $labels.instance }}.',
              description: '{{ $value | humanize }} mmap(2)/mprotect(2) calls asking for PROT_EXEC on {{ $labels.instance }} in the last hour could not be examined (their address space was locked at that moment): any of them may have made memfd pages executable without being counted in memfd_exec_mappings_total.',
            },
          },
          {
            alert: 'MemfdHugeSizeRequested',
            expr: |||
              (
                  sum by (%(instanceLabels)s) (increase(memfd_requested_size_bytes_count{%(memfdExporterSelector)s}[5m]))
                - on (%(instanceLabels)s) group_right ()
                  sum by (%(instanceLabels)s, le) (
                      increase(memfd_requested_size_bytes_bucket{%(memfdExporterSelector)s}[5m])
                    and on (le)
                      memfd_exporter:alert_threshold:requested_size_bytes
                  )
              ) > 0
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: 'A memfd was sized beyond {{ $labels.le | humanize1024 }}B on {{ $labels.instance }}.',
              description: 'In the last 5 minutes, ftruncate(2) or fallocate(2) on {{ $labels.instance }} asked for a memfd larger than {{ $labels.le | humanize1024 }}B (requests above that: {{ $value | humanize }}).',
            },
          },
          {
            alert: 'MemfdLiveMemoryHigh',
            // Comms with their own threshold are compared with it, every other comm with the default.
            // comm="(other)" is not one comm: it sums the holders beyond --collector.max-comms, each
            // holding less than any comm with a series of its own.
            expr: |||
              (
                  memfd_live_allocated_bytes{%(memfdExporterSelector)s, comm!="(other)"}
                > on (comm) group_left ()
                  memfd_exporter:alert_threshold:live_allocated_bytes{comm!=""}
              )
              or
              (
                  (
                      memfd_live_allocated_bytes{%(memfdExporterSelector)s, comm!="(other)"}
                    unless on (comm)
                      memfd_exporter:alert_threshold:live_allocated_bytes{comm!=""}
                  )
                > on () group_left ()
                  memfd_exporter:alert_threshold:live_allocated_bytes{comm=""}
              )
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: '{{ $labels.comm }} holds {{ $value | humanize1024 }}B of memfd memory on {{ $labels.instance }}.',
              description: "The memfds {{ $labels.comm }} holds on {{ $labels.instance }} have {{ $value | humanize1024 }}B allocated (RAM or swap, in no process's RSS), above its threshold.",
            },
          },
          {
            alert: 'MemfdLiveExecutableCode',
            // Processes running code from a memfd at every live scan for 5 minutes: kind="exe", their
            // executable is a memfd (a fileless program that stays; runc's re-exec lasts seconds);
            // kind="mapped", they map memfd pages executable (loaders, JITs). Also sees what started
            // before the exporter. Comms with their own (comm, kind) threshold are compared with it.
            expr: |||
              (
                  memfd_live_executable_processes{%(memfdExporterSelector)s}
                > on (comm, kind) group_left ()
                  memfd_exporter:alert_threshold:live_executable_processes{comm!=""}
              )
              or
              (
                  (
                      memfd_live_executable_processes{%(memfdExporterSelector)s}
                    unless on (comm, kind)
                      memfd_exporter:alert_threshold:live_executable_processes{comm!=""}
                  )
                > on () group_left ()
                  memfd_exporter:alert_threshold:live_executable_processes{comm=""}
              )
            ||| % $._config,
            'for': '5m',
            labels: { severity: '{{ if eq $labels.kind "exe" }}critical{{ else }}warning{{ end }}' },
            annotations: {
              summary: '{{ $labels.comm }} runs code from a memfd on {{ $labels.instance }}.',
              description: '{{ $value | humanize }} process(es) named {{ $labels.comm }} on {{ $labels.instance }} {{ if eq $labels.kind "exe" }}run an executable that is a memfd{{ else }}map memfd pages executable{{ end }}, at every live scan for 5 minutes.',
            },
          },
          {
            alert: 'MemfdSecretUsed',
            // Comms with their own threshold are compared with it, every other comm with the default.
            expr: |||
              (
                  instance_comm:memfd_secret_calls:increase1h{%(memfdExporterSelector)s}
                > on (comm) group_left ()
                  memfd_exporter:alert_threshold:secret_calls_per_hour{comm!=""}
              )
              or
              (
                  (
                      instance_comm:memfd_secret_calls:increase1h{%(memfdExporterSelector)s}
                    unless on (comm)
                      memfd_exporter:alert_threshold:secret_calls_per_hour{comm!=""}
                  )
                > on () group_left ()
                  memfd_exporter:alert_threshold:secret_calls_per_hour{comm=""}
              )
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: '{{ $labels.comm }} called memfd_secret(2) on {{ $labels.instance }}.',
              description: '{{ $labels.comm }} on {{ $labels.instance }} called memfd_secret(2), which creates memory that even root cannot read; calls in the last hour (failed ones included): {{ $value | humanize }}, above its threshold.',
            },
          },
          {
            alert: 'MemfdExporterDown',
            expr: 'up{%(memfdExporterSelector)s} == 0 or absent(up{%(memfdExporterSelector)s})' % $._config,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'memfd_exporter {{ with $labels.instance }}{{ . }} {{ end }}is not scraped.',
              description: '{{ with $labels.instance }}Prometheus cannot scrape {{ . }} (up = {{ $value }}){{ else }}Prometheus has no target in job {{ $labels.job }}{{ end }}: memfd_create(2) activity there is unobserved.',
            },
          },
          {
            alert: 'MemfdExporterNotCounting',
            // The exporter answers scrapes but exports no memfd_create counts: its BPF maps cannot
            // be read, which is what a detached and closed probe looks like from Prometheus.
            expr: 'group by (%(instanceLabels)s) (memfd_exporter_build_info{%(memfdExporterSelector)s}) unless on (%(instanceLabels)s) memfd_create_observed_calls_total{%(memfdExporterSelector)s}' % $._config,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'memfd_exporter {{ $labels.instance }} is up but exports no memfd_create(2) counts.',
              description: '{{ $labels.instance }} answers scrapes without memfd_create_observed_calls_total: its BPF probe is not counting, so memfd_create(2) activity there is unobserved.',
            },
          },
          {
            alert: 'MemfdExporterCollectorFailing',
            expr: 'memfd_exporter_collector_success{%(memfdExporterSelector)s} == 0' % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfd_exporter collector {{ $labels.collector }} fails on {{ $labels.instance }}.',
              description: "The {{ $labels.collector }} collector of {{ $labels.instance }} fails in every scrape (success = {{ $value }}); its metric families are missing. The exporter's log says why.",
            },
          },
          {
            alert: 'MemfdExporterLiveScanStale',
            // The last completed live scan is too old (scans fail or hang), or none has completed
            // since the exporter started: memfd_live_* are stale or missing.
            expr: |||
              label_replace(
                  time() - memfd_exporter_live_last_scan_timestamp_seconds{%(memfdExporterSelector)s}
                > on () group_left ()
                  memfd_exporter:alert_threshold:live_scan_age_seconds,
                "reason", "stale", "", ""
              )
              or
              label_replace(
                  memfd_exporter_live_scan_errors_total{%(memfdExporterSelector)s}
                unless on (%(instanceLabels)s)
                  memfd_exporter_live_last_scan_timestamp_seconds{%(memfdExporterSelector)s},
                "reason", "never_completed", "", ""
              )
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfd_exporter {{ $labels.instance }} does not complete live memfd scans.',
              description: '{{ if eq $labels.reason "stale" }}The last live memfd scan of {{ $labels.instance }} completed {{ $value | humanizeDuration }} ago{{ else }}{{ $labels.instance }} has completed no live memfd scan since it started ({{ $value }} failed){{ end }}: memfd_live_* do not show the memfds alive now.',
            },
          },
        ]),
      },
    ],
  },
}
