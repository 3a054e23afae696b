// Recording rules: the alert thresholds (as series) and the rates the alerts and the
// dashboard read.
local le = import 'le.libsonnet';

{
  local threshold(name, value, labels={}) = {
    record: 'memfd_exporter:alert_threshold:' + name,
    // %d: integers in full (4294967296); %g: fractions as written (0.1, not 0.10000000000000001).
    expr: 'vector(%s)' % (if value == std.floor(value) then '%d' % value else '%g' % value),
  } + (if labels == {} then {} else { labels: labels }),

  // A bucket threshold: one record per spelling of its le label (le.libsonnet), so that the
  // alert finds the bucket whichever Prometheus stored it, and across an upgrade from one to the other.
  local bucketThreshold(name, bound) = [threshold(name, bound, { le: spelling }) for spelling in le.spellings(bound)],

  // The per-cgroup families whose full kernel map memfd_by_cgroup_unrecorded_total{family} counts,
  // by the name of that map: MemfdCreateUnrecorded's map label. (calls_by_cgroup's losses are also in
  // memfd_create_unrecorded_total{map="calls_by_cgroup"}, read there.)
  local cgroupMaps = {
    memfd_create_failures_by_cgroup_total: 'failures_by_cgroup',
    memfd_exec_by_cgroup_total: 'execs_by_cgroup',
    memfd_exec_mappings_by_cgroup_total: 'exec_mappings_by_cgroup',
    memfd_requested_bytes_by_cgroup_total: 'requested_bytes_by_cgroup',
  },

  // Events in the last hour of a counter whose series appear with their first event (a comm's
  // first memfd execution creates its series at 1, which increase() cannot see: it needs two
  // samples). The count now against the last sample at least an hour old, wherever in the
  // counterLookback before that it is: staleness markers (a failed scrape, a restart, a
  // Prometheus outage) hide no earlier sample, so a gap never re-counts a lifetime total.
  //   no earlier sample: the series is new, its whole value counts;
  //   now below it: the counter was reset (an exporter restart without --bpf.pin-path), and
  //     everything since the reset counts;
  //   otherwise: the difference.
  local eventsInLastHour(series) =
    local before = 'last_over_time(%s[%s] offset 1h)' % [series, $._config.counterLookback];
    |||
      (%(series)s unless %(before)s)
      or
      (%(series)s < %(before)s)
      or
      (%(series)s - %(before)s)
    ||| % { series: series, before: before },

  prometheusRules+:: {
    local t = $._config.thresholds,
    groups+: [
      {
        // Thresholds are series: alert expressions carry no number to tune. A record without
        // scope labels is the default; a record of the same name carrying any of
        // thresholdScopeLabels (job, instance, comm by default), in a rule file of the user's
        // own, overrides it there (alerts/examples/thresholds.yml; alerts.libsonnet: thresholded).
        name: 'memfd_exporter.thresholds',
        rules: [
          threshold('flood_calls_per_second', t.floodCallsPerSecond),
          // comm="(other)" sums every comm beyond --collector.max-comms: its own, higher, record.
          threshold('flood_calls_per_second', t.floodOtherCallsPerSecond, { comm: '(other)' }),
        ]
        // MemfdCreateBurst: the le label picks the histogram bucket, so the value must be one of
        // the exporter's bucket bounds.
        + bucketThreshold('burst_calls_per_second', t.burstCallsPerSecond)
        + [
          // MemfdCreateFailures: one record per errno that alerts (errno is a key: a record
          // without it matches nothing).
          threshold('failures_per_second', t.failuresPerSecond, { errno: errno })
          for errno in t.failureErrnos
        ]
        // MemfdHugeSizeRequested: as for the burst, le picks the bucket of memfd_requested_size_bytes.
        + bucketThreshold('requested_size_bytes', t.requestedSizeBytes)
        + [
          threshold('live_allocated_bytes', t.liveAllocatedBytes),
          threshold('live_host_memory_ratio', t.liveHostMemoryRatio),
          // MemfdCreateUnrecorded, by map: the per-cgroup maps have a threshold of their own.
          threshold('unrecorded_per_hour', t.unrecordedPerHour),
        ]
        + [
          threshold('unrecorded_per_hour', t.unrecordedByCgroupPerHour, { map: map })
          for map in ['calls_by_cgroup'] + std.objectValues(cgroupMaps)
        ]
        + [
          threshold('secret_calls_per_hour', t.secretCallsPerHour),
          // MemfdExecutableMapping and MemfdLiveExecutableCode may also be scoped by kind: an
          // exemption for a JIT's double-mapped code (kind="double_mapped", live kind="mapped")
          // should never exempt the comm's other ways of running code from a memfd.
          threshold('exec_mappings_per_hour', t.execMappingsPerHour),
          threshold('exec_mappings_unchecked_per_hour', t.execMappingsUncheckedPerHour),
          threshold('live_executable_processes', t.liveExecutableProcesses),
          threshold('live_scan_age_seconds', t.liveScanAgeSeconds),
        ],
      },
      {
        name: 'memfd_exporter.recording',
        rules: [
          // Per-comm and per-cgroup rates: the dashboard's top-N panels and the alerts read these
          // instead of computing rate() over up to --collector.max-comms series per instance.
          {
            record: 'instance_comm:memfd_create_calls:rate5m',
            expr: 'rate(memfd_create_calls_total{%(memfdExporterSelector)s}[5m])' % $._config,
          },
          {
            record: 'instance_comm_errno:memfd_create_failures:rate5m',
            expr: 'rate(memfd_create_failures_total{%(memfdExporterSelector)s}[5m])' % $._config,
          },
          {
            record: 'instance_cgroup:memfd_create_calls_by_cgroup:rate5m',
            expr: 'rate(memfd_create_calls_by_cgroup_total{%(memfdExporterSelector)s}[5m])' % $._config,
          },
          {
            record: 'instance_comm:memfd_requested_bytes:rate5m',
            expr: 'rate(memfd_requested_bytes_total{%(memfdExporterSelector)s}[5m])' % $._config,
          },
          // Events that a full BPF map left unrecorded per key, in the last hour, by map;
          // label_replace names the maps of the counters without a map label. The 1-hour window
          // keeps MemfdCreateUnrecorded up while new keys keep arriving.
          {
            record: 'instance_map:memfd_unrecorded:increase1h',
            expr: |||
              increase(memfd_create_unrecorded_total{%(memfdExporterSelector)s}[1h])
              or
              increase(memfd_secret_unrecorded_total{%(memfdExporterSelector)s}[1h])
              or
              label_replace(increase(memfd_exec_unrecorded_total{%(memfdExporterSelector)s}[1h]), "map", "execs_by_comm", "", "")
              or
              label_replace(increase(memfd_exec_mappings_unrecorded_total{%(memfdExporterSelector)s}[1h]), "map", "exec_mappings_by_comm", "", "")
              or
              label_replace(increase(memfd_requested_unrecorded_bytes_total{%(memfdExporterSelector)s}[1h]), "map", "requested_bytes_by_comm", "", "")
            ||| % $._config + std.join('', [
              |||
                or
                sum without (family) (label_replace(increase(memfd_by_cgroup_unrecorded_total{%(selector)s, family="%(family)s"}[1h]), "map", "%(map)s", "", ""))
              ||| % { selector: $._config.memfdExporterSelector, family: family, map: cgroupMaps[family] }
              for family in std.objectFields(cgroupMaps)
            ]),
          },
          {
            record: 'instance_comm_memfd_name_kind:memfd_exec:increase1h',
            expr: eventsInLastHour('memfd_exec_total{%(memfdExporterSelector)s}' % $._config),
          },
          // Executable memfd mappings, summed over the three system calls.
          {
            record: 'instance_comm_kind:memfd_exec_mappings:increase1h',
            expr: 'sum without (syscall) (\n%s\n)\n'
                  % std.join('\n', ['    ' + line for line in std.split(std.rstripChars(
                    eventsInLastHour('memfd_exec_mappings_total{%(memfdExporterSelector)s}' % $._config), '\n'), '\n')]),
          },
          {
            record: 'instance_comm:memfd_secret_calls:increase1h',
            expr: eventsInLastHour('memfd_secret_calls_total{%(memfdExporterSelector)s}' % $._config),
          },
        ],
      },
    ],
  },
}
