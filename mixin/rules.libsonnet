// Recording rules: the alert thresholds (as series) and the rates the alerts and the
// dashboard read.
local le = import 'le.libsonnet';

{
  local threshold(name, value, labels={}) = {
    record: 'memfd_exporter:alert_threshold:' + name,
    // %d: integers in full (4294967296); %g: fractions as written (0.1, not 0.10000000000000001).
    expr: 'vector(%s)' % (if value == std.floor(value) then '%d' % value else '%g' % value),
  } + (if labels == {} then {} else { labels: labels }),

  prometheusRules+:: {
    local t = $._config.thresholds,
    groups+: [
      {
        // Thresholds are series: alert expressions carry no number to tune. A record without a
        // comm label is the default; a record of the same name with a comm label, in a rule file
        // of the user's own, applies to that comm (alerts/examples/thresholds.yml).
        name: 'memfd_exporter.thresholds',
        rules: [
          // MemfdCreateFlood. A record with a comm label applies to that comm.
          threshold('flood_calls_per_second', t.floodCallsPerSecond),
          // MemfdCreateBurst: the le label picks the histogram bucket, written as the exporter
          // writes its bucket bounds ("4096.0"), so the value must be one of them.
          threshold('burst_calls_per_second', t.burstCallsPerSecond, { le: le.of(t.burstCallsPerSecond) }),
        ] + [
          // MemfdCreateFailures: one record per errno that alerts.
          threshold('failures_per_second', t.failuresPerSecond, { errno: errno })
          for errno in t.failureErrnos
        ] + [
          // MemfdHugeSizeRequested: as for the burst, le picks the bucket of
          // memfd_requested_size_bytes ("4.294967296E9" for 4 GiB).
          threshold('requested_size_bytes', t.requestedSizeBytes, { le: le.of(t.requestedSizeBytes) }),
          // MemfdLiveMemoryHigh. A record with a comm label applies to that comm.
          threshold('live_allocated_bytes', t.liveAllocatedBytes),
          // MemfdSecretUsed: give a comm that is expected to call memfd_secret(2) a record of its own.
          threshold('secret_calls_per_hour', t.secretCallsPerHour),
          // MemfdExecutableMapping. A record for one comm needs both a comm and a kind label (a
          // JIT that double-maps its code through a memfd: kind="double_mapped").
          threshold('exec_mappings_per_hour', t.execMappingsPerHour),
          // MemfdExecutableMappingUnchecked. One value per instance: the counter has no comm.
          threshold('exec_mappings_unchecked_per_hour', t.execMappingsUncheckedPerHour),
          // MemfdLiveExecutableCode (kind="exe": the executable is a memfd; kind="mapped": memfd
          // pages mapped executable). A record for one comm needs both a comm and a kind label.
          threshold('live_executable_processes', t.liveExecutableProcesses),
          // MemfdExporterLiveScanStale.
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
          // Events in the last hour, for counters whose series appear with their first event: a
          // comm's first memfd execution or memfd_secret(2) call creates its series at 1, which
          // increase() cannot see (it needs two samples). A series that did not exist an hour ago
          // counts with its whole value; the others with their increase (counter resets included).
          {
            record: 'instance_comm_memfd_name_kind:memfd_exec:increase1h',
            expr: |||
              (memfd_exec_total{%(memfdExporterSelector)s} unless memfd_exec_total{%(memfdExporterSelector)s} offset 1h)
              or
              increase(memfd_exec_total{%(memfdExporterSelector)s}[1h])
            ||| % $._config,
            // The same for executable memfd mappings, summed over the three system calls.
          },
          {
            record: 'instance_comm_kind:memfd_exec_mappings:increase1h',
            expr: |||
              sum without (syscall) (
                  (memfd_exec_mappings_total{%(memfdExporterSelector)s} unless memfd_exec_mappings_total{%(memfdExporterSelector)s} offset 1h)
                  or
                  increase(memfd_exec_mappings_total{%(memfdExporterSelector)s}[1h])
              )
            ||| % $._config,
          },
          {
            record: 'instance_comm:memfd_secret_calls:increase1h',
            expr: |||
              (memfd_secret_calls_total{%(memfdExporterSelector)s} unless memfd_secret_calls_total{%(memfdExporterSelector)s} offset 1h)
              or
              increase(memfd_secret_calls_total{%(memfdExporterSelector)s}[1h])
            ||| % $._config,
          },
        ],
      },
    ],
  },
}
