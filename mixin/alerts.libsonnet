// Alerting rules. Every alert has a section in docs/runbook.md (runbook_url: see
// runbookUrlBase in config.libsonnet) and promtool tests in alerts/tests/ proving when it
// fires and when it stays silent. Thresholds are the series recorded in rules.libsonnet,
// which these alerts need: load prometheusRules with them.
{
  // runbook_url: the runbook's section of the alert's own name.
  local withRunbook(rule) = rule {
    annotations+: { runbook_url: '%s#%s' % [$._config.runbookUrlBase, std.asciiLower(rule.alert)] },
  },

  // SERIES above its threshold memfd_exporter:alert_threshold:NAME, the most specific record
  // applying to each series: records carry the keys (labels every record of NAME has, such as
  // errno) and any subset of the scope labels (thresholdScopeLabels, but for those in without,
  // which the series lacks, plus extraScopes). Most specific: the record naming the most scope
  // labels, then the one naming the later label (comm before instance before job). Each subset is
  // matched on its own labels only, against records naming exactly those, aggregated with min:
  // a record with further labels, or the same record loaded twice, is never a many-to-many
  // error (which would fail the rule on every host), and the stricter of two duplicates applies.
  local thresholded(multiLineSeries, name, keys=[], extraScopes=[], without=[]) =
    // On one line: it is repeated once per branch.
    local series = std.join(' ', [w for w in std.split(std.strReplace(multiLineSeries, '\n', ' '), ' ') if w != '']);
    local scopes = [l for l in $._config.thresholdScopeLabels if !std.member(without, l)] + extraScopes;
    local n = std.length(scopes);
    local subset(mask) = [scopes[i] for i in std.range(0, n - 1) if ((mask >> i) & 1) == 1];
    local masks = std.sort(std.range(0, std.pow(2, n) - 1), function(mask) -(std.length(subset(mask)) * std.pow(2, n) + mask));
    local branch(mask) =
      local on = std.join(', ', keys + subset(mask));
      local matchers = std.join(', ', [l + '!=""' for l in subset(mask)] + [l + '=""' for l in scopes if !std.member(subset(mask), l)]);
      '(0 * (%s) + on (%s) group_left () min by (%s) (memfd_exporter:alert_threshold:%s{%s}))' % [series, on, on, name, matchers];
    '%s\n  >\n(\n    %s\n)\n' % [series, std.join('\n  or\n    ', std.map(branch, masks))],

  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    local bytes(bound) = '{{ %d | humanize1024 }}B' % bound,
    groups+: [
      {
        name: 'memfd_exporter.alerts',
        rules: std.map(withRunbook, [
          {
            alert: 'MemfdCreateFlood',
            // comm="(other)" sums the comms beyond --collector.max-comms: many comms each well below
            // the threshold add up there, so the thresholds group gives it a record of its own.
            expr: thresholded('instance_comm:memfd_create_calls:rate5m{%(memfdExporterSelector)s}' % c, 'flood_calls_per_second'),
            'for': '10m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Sustained memfd_create(2) flood from {{ $labels.comm }} on {{ $labels.instance }}.',
              description: '{{ $labels.comm }} on {{ $labels.instance }} has called memfd_create(2) {{ $value | humanize }} times per second (5-minute average), above its flood threshold.{{ if eq $labels.comm "(other)" }} (other) sums the comms that got no series of their own (--collector.max-comms).{{ end }}',
            },
          },
          {
            alert: 'MemfdCreateBurst',
            // The calls not in the threshold's bucket are the one-second windows above it. The bucket
            // is found by either spelling of le (le.libsonnet) and summed over both: across an upgrade
            // to Prometheus 3 the 5-minute window holds some of each.
            expr: |||
              (
                  sum by (%(instanceLabels)s) (increase(memfd_create_calls_per_process_second_count{%(memfdExporterSelector)s}[5m]))
                - on (%(instanceLabels)s)
                  sum by (%(instanceLabels)s) (
                      increase(memfd_create_calls_per_process_second_bucket{%(memfdExporterSelector)s}[5m])
                    and on (le)
                      memfd_exporter:alert_threshold:burst_calls_per_second
                  )
              ) > 0
            ||| % c,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: 'A process made a burst of memfd_create(2) calls on {{ $labels.instance }}.',
              description: 'In the last 5 minutes, a process on {{ $labels.instance }} made more than %d memfd_create(2) calls within one second (one-second windows above that: {{ $value | humanize }}).' % t.burstCallsPerSecond,
            },
          },
          {
            alert: 'MemfdCreateFailures',
            // errno is a key: only errnos with a record alert.
            expr: thresholded('instance_comm_errno:memfd_create_failures:rate5m{%(memfdExporterSelector)s}' % c, 'failures_per_second', keys=['errno']),
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfd_create(2) fails with {{ $labels.errno }} for {{ $labels.comm }} on {{ $labels.instance }}.',
              description: 'memfd_create(2) calls by {{ $labels.comm }} on {{ $labels.instance }} fail with {{ $labels.errno }} {{ $value | printf "%.2f" }} times per second (5-minute average).',
            },
          },
          {
            alert: 'MemfdCreateUnrecorded',
            // Events a per-key map could not record in the last hour (instance_map:memfd_unrecorded:increase1h):
            // attribution is lost until a restart with larger maps. Its name predates the maps of
            // executions, executable mappings, sizes and memfd_secret(2), which it covers too.
            expr: thresholded('instance_map:memfd_unrecorded:increase1h{%(memfdExporterSelector)s}' % c, 'unrecorded_per_hour',
                              extraScopes=['map'], without=['comm']),
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'BPF map {{ $labels.map }} is full on {{ $labels.instance }}.',
              description: '{{ if match "^requested_bytes_by_" $labels.map }}{{ $value | humanize1024 }}B of memfd size requests{{ else }}{{ $value | humanize }} {{ if match "^execs_by_" $labels.map }}memfd executions{{ else if match "^exec_mappings_by_" $labels.map }}executable memfd mappings{{ else if match "^secret_" $labels.map }}memfd_secret(2) calls{{ else if match "^failures_by_" $labels.map }}failed memfd_create(2) calls{{ else }}memfd_create(2) calls{{ end }}{{ end }} in the last hour on {{ $labels.instance }} were counted in the totals only, because the BPF map {{ $labels.map }} was full.',
            },
          },
          {
            alert: 'MemfdFilelessExecution',
            // Any execution of a memfd but runc's re-exec of itself (memfd_name_kind="runc": a memfd named
            // runc_cloned:* executed by root's runc, as the kernel sees the caller; the name alone is "other").
            expr: 'instance_comm_memfd_name_kind:memfd_exec:increase1h{%(memfdExporterSelector)s, memfd_name_kind="other"} > 0' % c,
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
            expr: thresholded('instance_comm_kind:memfd_exec_mappings:increase1h{%(memfdExporterSelector)s}' % c, 'exec_mappings_per_hour',
                              extraScopes=['kind']),
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
            expr: thresholded('increase(memfd_exec_mappings_unchecked_total{%(memfdExporterSelector)s}[1h])' % c,
                              'exec_mappings_unchecked_per_hour', without=['comm']),
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Executable mappings went unexamined on {{ $labels.instance }}.',
              description: '{{ $value | humanize }} mmap(2)/mprotect(2) calls asking for PROT_EXEC on {{ $labels.instance }} in the last hour could not be examined (their address space was locked at that moment): any of them may have made memfd pages executable without being counted in memfd_exec_mappings_total.',
            },
          },
          {
            alert: 'MemfdHugeSizeRequested',
            // As MemfdCreateBurst: the requests not in the threshold's bucket, either spelling of le.
            expr: |||
              (
                  sum by (%(instanceLabels)s) (increase(memfd_requested_size_bytes_count{%(memfdExporterSelector)s}[5m]))
                - on (%(instanceLabels)s)
                  sum by (%(instanceLabels)s) (
                      increase(memfd_requested_size_bytes_bucket{%(memfdExporterSelector)s}[5m])
                    and on (le)
                      memfd_exporter:alert_threshold:requested_size_bytes
                  )
              ) > 0
            ||| % c,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: 'A memfd was sized beyond %s on {{ $labels.instance }}.' % bytes(t.requestedSizeBytes),
              description: 'In the last 5 minutes, ftruncate(2) or fallocate(2) on {{ $labels.instance }} asked for a memfd larger than %s (requests above that: {{ $value | humanize }}).' % bytes(t.requestedSizeBytes),
            },
          },
          {
            alert: 'MemfdLiveMemoryHigh',
            // comm="(other)" is not one comm: it sums the holders beyond --collector.max-comms, each
            // holding less than any comm with a series of its own; MemfdLiveMemoryHostHigh counts it.
            expr: thresholded('memfd_live_allocated_bytes{%(memfdExporterSelector)s, comm!="(other)"}' % c, 'live_allocated_bytes'),
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: '{{ $labels.comm }} holds {{ $value | humanize1024 }}B of memfd memory on {{ $labels.instance }}.',
              description: 'The memfds {{ $labels.comm }} holds on {{ $labels.instance }} have {{ $value | humanize1024 }}B allocated (RAM or swap, in no process\'s RSS), above its threshold.',
            },
          },
          {
            alert: 'MemfdLiveMemoryHostHigh',
            // All memfd memory on a host ((other) included) against the host's memory, where
            // node_exporter's node_memory_MemTotal_bytes names the same host (hostLabels).
            local labels(list) = [std.stripChars(l, ' ') for l in std.split(list, ',')],
            local perHost = std.join(', ', labels(c.instanceLabels) + [l for l in labels(c.hostLabels) if !std.member(labels(c.instanceLabels), l)]),
            expr: thresholded(|||
              sum by (%(perHost)s) (memfd_live_allocated_bytes{%(memfdExporterSelector)s})
                / on (%(hostLabels)s) group_left ()
              max by (%(hostLabels)s) (node_memory_MemTotal_bytes{%(nodeExporterSelector)s})
            ||| % (c { perHost: perHost }), 'live_host_memory_ratio', without=['comm']),
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfds hold {{ $value | humanizePercentage }} of the memory of {{ $labels.instance }}.',
              description: 'The memfds alive on {{ $labels.instance }} have {{ $value | humanizePercentage }} of its node_memory_MemTotal_bytes allocated (RAM or swap, in no process\'s RSS), above its threshold; memfd_live_allocated_bytes says which comms hold them.',
            },
          },
          {
            alert: 'MemfdLiveExecutableCode',
            expr: thresholded('memfd_live_executable_processes{%(memfdExporterSelector)s}' % c, 'live_executable_processes',
                              extraScopes=['kind']),
            'for': '5m',
            labels: { severity: '{{ if eq $labels.kind "exe" }}critical{{ else }}warning{{ end }}' },
            annotations: {
              summary: '{{ $labels.comm }} runs code from a memfd on {{ $labels.instance }}.',
              description: '{{ $value | humanize }} process(es) named {{ $labels.comm }} on {{ $labels.instance }} {{ if eq $labels.kind "exe" }}run an executable that is a memfd{{ else }}map memfd pages executable{{ end }}, at every live scan for 5 minutes.',
            },
          },
          {
            alert: 'MemfdSecretUsed',
            expr: thresholded('instance_comm:memfd_secret_calls:increase1h{%(memfdExporterSelector)s}' % c, 'secret_calls_per_hour'),
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: '{{ $labels.comm }} called memfd_secret(2) on {{ $labels.instance }}.',
              description: '{{ $labels.comm }} on {{ $labels.instance }} called memfd_secret(2), which creates memory that even root cannot read; calls in the last hour (failed ones included): {{ $value | humanize }}, above its threshold.',
            },
          },
          {
            alert: 'MemfdExporterDown',
            // A target Prometheus cannot scrape, or one scraped within exporterDownLookback that has
            // vanished (removed from service discovery: stopping the exporter's pod, deleting the
            // DaemonSet). Never absent() of a job name: a job that never existed under the selector
            // (the Operator's naming, a typo) would page forever and hide nothing real.
            expr: |||
              label_replace(up{%(memfdExporterSelector)s} == 0, "reason", "unreachable", "", "")
              or
              label_replace(
                  last_over_time(up{%(memfdExporterSelector)s}[%(exporterDownLookback)s]) unless up{%(memfdExporterSelector)s},
                "reason", "vanished", "", ""
              )
            ||| % c,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'memfd_exporter {{ $labels.instance }} is not scraped ({{ $labels.reason }}).',
              description: '{{ if eq $labels.reason "vanished" }}{{ $labels.instance }} of job {{ $labels.job }} is no longer a scrape target{{ else }}Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }}{{ end }}: memfd_create(2) activity there is unobserved.',
            },
          },
          {
            alert: 'MemfdExporterNotCounting',
            // The exporter answers scrapes but exports no memfd_create counts: its BPF maps cannot
            // be read, which is what a detached and closed probe looks like from Prometheus.
            expr: 'group by (%(instanceLabels)s) (memfd_exporter_build_info{%(memfdExporterSelector)s}) unless on (%(instanceLabels)s) memfd_create_observed_calls_total{%(memfdExporterSelector)s}' % c,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'memfd_exporter {{ $labels.instance }} is up but exports no memfd_create(2) counts.',
              description: '{{ $labels.instance }} answers scrapes without memfd_create_observed_calls_total: its BPF probe is not counting, so memfd_create(2) activity there is unobserved.',
            },
          },
          {
            alert: 'MemfdExporterHistogramsUnscraped',
            // Prometheus scraping native histograms stores no classic _bucket series unless told to
            // (always_scrape_classic_histograms: true; scrape_classic_histograms in 2.x): the
            // burst and size alerts, which read buckets, would be silent without a word.
            expr: 'group by (%(instanceLabels)s) (memfd_exporter_build_info{%(memfdExporterSelector)s}) unless on (%(instanceLabels)s) memfd_requested_size_bytes_bucket{%(memfdExporterSelector)s}' % c,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus stores no classic histogram buckets of memfd_exporter {{ $labels.instance }}.',
              description: '{{ $labels.instance }} is scraped, but memfd_requested_size_bytes_bucket is not stored (native histograms scraped without always_scrape_classic_histograms): MemfdCreateBurst and MemfdHugeSizeRequested cannot fire for it.',
            },
          },
          {
            alert: 'MemfdExporterCollectorFailing',
            expr: 'memfd_exporter_collector_success{%(memfdExporterSelector)s} == 0' % c,
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
            ||| % c,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfd_exporter {{ $labels.instance }} does not complete live memfd scans.',
              description: '{{ if eq $labels.reason "stale" }}The last live memfd scan of {{ $labels.instance }} completed {{ $value | humanizeDuration }} ago{{ else }}{{ $labels.instance }} has completed no live memfd scan since it started ({{ $value }} failed){{ end }}: memfd_live_* do not show the memfds alive now.',
            },
          },
          {
            alert: 'MemfdExporterLiveScanIncomplete',
            // The scan reached --collector.live.max-fds before the last process. It runs in pid
            // order, so the processes it skips are the newest, an intruder's likely among them, and
            // a process holding many fds can cause it on purpose. Any such scan in the last 15
            // minutes: flipping the condition between scans does not hide it.
            expr: 'max_over_time(memfd_exporter_live_skipped_processes{%(memfdExporterSelector)s, reason="budget"}[15m]) > 0' % c,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'memfd_exporter {{ $labels.instance }} skips processes in its live memfd scans (fd budget).',
              description: 'A live memfd scan of {{ $labels.instance }} in the last 15 minutes reached --collector.live.max-fds and skipped {{ $value }} process(es), the newest by pid: memfd_live_* miss whatever they hold.',
            },
          },
          {
            alert: 'MemfdAlertRulesFailing',
            // A rule that fails to evaluate alerts on no host: a conflicting threshold override, a
            // query limit. Needs Prometheus's own metrics (prometheusSelector): each Prometheus that
            // loads these rules must be scraped.
            expr: 'increase(prometheus_rule_evaluation_failures_total{%(prometheusSelector)s, rule_group=~".*;memfd_exporter[.].*"}[5m]) > 0' % c,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Prometheus {{ $labels.instance }} fails to evaluate rules of group {{ $labels.rule_group }}.',
              description: '{{ $value | humanize }} evaluations of the rules of {{ $labels.rule_group }} on Prometheus {{ $labels.instance }} failed in the last 5 minutes: memfd_exporter alerts of that group cannot fire on any host.',
            },
          },
        ]),
      },
    ],
  },
}
