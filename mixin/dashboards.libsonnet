// The Grafana dashboard. Every query selects the exporter's series with
// memfdExporterSelector, then narrows them with the job and instance variables; the
// variables offer the jobs and instances the selector matches. Every panel reads the data
// source the user picks (the datasource variable): no data source is hard-coded.
//
// The namespace / pod / container drill-down joins the exporter's per-cgroup series to
// kube-state-metrics' kube_pod_container_info on container_id (the exporter spells it as
// kube-state-metrics does, runtime prefix included), then to kube_pod_info on the pod UID
// for containers it does not list; cgroups of no pod it knows (host processes, every cgroup
// where kube-state-metrics is absent) stay in the same panels under their cgroup path,
// narrowed by the cgroup variable (byContainer).
{
  local datasource = { type: 'prometheus', uid: '${datasource}' },
  local d = $._config.dashboard,

  // What %(...)s in a query's expr expands to: selector, the exporter's series with the
  // job and instance variables, with braces; matchers, the same without braces (to add
  // matchers of a panel's own); ksm, kube-state-metrics' series narrowed by the
  // namespace, pod and container variables; ksmAll, all its containers that have an id
  // (a container not started yet has container_id="", which must match nothing); ksmPods
  // and ksmPodsAll, its pods (kube_pod_info) the same ways, with the exporter's label pod_uid.
  local matchers = '%s, job=~"$job", instance=~"$instance"' % $._config.memfdExporterSelector,
  local ksmAll = 'kube_pod_container_info{%s, container_id!=""}' % d.kubeStateMetricsSelector,
  // kube_pod_info names the pod's UID uid; the exporter, pod_uid.
  local ksmPods(matchers) = 'label_replace(kube_pod_info{%s, uid!=""%s}, "pod_uid", "$1", "uid", "(.+)")' % [d.kubeStateMetricsSelector, matchers],
  local placeholders = {
    selector: '{%s}' % matchers,
    matchers: matchers,
    ksm: 'kube_pod_container_info{%s, container_id!="", namespace=~"$namespace", pod=~"$pod", container=~"$container"}' % d.kubeStateMetricsSelector,
    ksmAll: ksmAll,
    ksmPods: ksmPods(', namespace=~"$namespace", pod=~"$pod"'),
    ksmPodsAll: ksmPods(''),
    // The memfd alerts of the selected job; those about one instance follow the instance
    // variable, those about the job as a whole (no instance label) always show.
    alerts: 'alertname=~"Memfd.*", job=~"$job", instance=~"$instance|"',
    // MemfdAlertRulesFailing is about a Prometheus (its job and instance), not an exporter: it
    // always shows, since it means the other memfd alerts cannot fire.
    rulesFailing: 'alertname="MemfdAlertRulesFailing"',
  },

  // A query: %(selector)s (and the other placeholders) in expr is where the series selectors go.
  local query(expr, legendFormat, format) = {
    datasource: datasource,
    editorMode: 'code',
    expr: expr % placeholders,
    legendFormat: legendFormat,
  } + format,
  local rangeQuery(expr, legendFormat) = query(expr, legendFormat, { range: true, instant: false }),
  local tableQuery(expr, legendFormat) = query(expr, legendFormat, { format: 'table', range: false, instant: true }),
  local heatmapQuery(expr, legendFormat) = query(expr, legendFormat, { format: 'heatmap', range: true, instant: false }),

  // topk that stays honest in a range query: topk alone picks its n series again at every
  // step, so a graph of "the top 10" draws every series that was in the top 10 at any step.
  // (expr) in parentheses: and binds tighter than the or of byContainer. This picks the n with the highest peak over the dashboard's range once (@ end(): the
  // same set at every step), then draws those n over the range.
  local topkOverRange(n, by, expr) =
    '(%(expr)s)\nand on (%(by)s)\ntopk(%(n)d, max_over_time((%(expr)s)[$__range:] @ end()))' % { expr: std.stripChars(expr, '\n'), by: by, n: n },

  // An aggregation of a per-cgroup family by container, in three tiers: the series of
  // containers kube-state-metrics knows get their namespace, pod and container (narrowed by
  // those variables); the others of pods it knows (a sandbox, a container it has not reported
  // yet or never will, being short-lived) get namespace and pod, joined on pod_uid; the rest
  // keep their cgroup path (narrowed by the cgroup variable). series(m) is the family's series
  // (or an expression over them) with matchers m.
  local byContainer(aggregation, series) = |||
    %(aggregation)s by (instance, namespace, pod, container) (
      %(byContainerId)s
      * on (container_id) group_left (namespace, pod, container)
      max by (container_id, namespace, pod, container) (%%(ksm)s)
    )
    or
    %(aggregation)s by (instance, namespace, pod) (
      (%(byPodUid)s unless on (container_id) %%(ksmAll)s)
      * on (pod_uid) group_left (namespace, pod)
      max by (pod_uid, namespace, pod) (%%(ksmPods)s)
    )
    or
    %(aggregation)s by (instance, cgroup) (
      %(byPath)s
      unless on (container_id) %%(ksmAll)s
      unless on (pod_uid) %%(ksmPodsAll)s
    )
  ||| % {
    aggregation: aggregation,
    byContainerId: series('%(matchers)s, container_id!=""'),
    byPodUid: series('%(matchers)s, pod_uid!=""'),
    byPath: series('%(matchers)s, cgroup=~"$cgroup"'),
  },

  // "First seen": the earliest scrape within the dashboard's range that carried the series,
  // in milliseconds for Grafana's time units. A series older than the range shows the range's
  // start; the subquery's step (the evaluation interval) bounds the error.
  local firstSeen(series) = 'min_over_time(timestamp(%s)[$__range:]) * 1000' % series,

  // The runbook section of an alert: runbookUrlBase, '#', its name in lower case.
  local runbookUrl(alert) = '%s#%s' % [$._config.runbookUrlBase, std.asciiLower(alert)],
  // Links from a panel to the runbook sections of the alerts it shows.
  local runbookLinks(alerts) = {
    links: [{ title: 'Runbook: ' + alert, url: runbookUrl(alert), targetBlank: true } for alert in alerts],
  },

  // The most common shape of each panel type; a panel adds what differs (+ { ... }).
  local timeseriesBase = {
    fieldConfig: {
      defaults: {
        min: 0,
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: 'none', group: 'A' },
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['mean', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  },
  local statBase = {
    fieldConfig: {
      defaults: {
        color: { mode: 'thresholds' },
        thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
    },
  },
  local tableBase = {
    fieldConfig: { defaults: { custom: { align: 'auto' } }, overrides: [] },
    options: { showHeader: true, cellHeight: 'sm', sortBy: [{ displayName: 'Value', desc: true }] },
    transformations: [{ id: 'organize', options: { excludeByName: { Time: true, __name__: true } } }],
  },
  local heatmapBase = {
    fieldConfig: {
      defaults: {
        custom: {
          hideFrom: { legend: false, tooltip: false, viz: false },
          scaleDistribution: { type: 'linear' },
        },
      },
      overrides: [],
    },
    options: {
      calculate: false,
      cellGap: 1,
      cellValues: { unit: 'short' },
      color: {
        mode: 'scheme',
        scheme: 'Oranges',
        scale: 'exponential',
        exponent: 0.5,
        steps: 64,
        fill: 'dark-orange',
        reverse: false,
      },
      exemplars: { color: 'rgba(255,0,255,0.7)' },
      filterValues: { le: 1e-09 },
      legend: { show: true },
      rowsFrame: { layout: 'auto' },
      tooltip: { mode: 'single', yHistogram: false, showColorScale: false },
      yAxis: { axisPlacement: 'left', unit: 'short', axisLabel: 'calls in one second' },
    },
  },

  // A panel of one type: its queries get refIds A, B, ... in order.
  local panel(type, base) = function(id, title, unit, gridPos, description, targets) base {
    type: type,
    id: id,
    title: title,
    description: description,
    datasource: datasource,
    gridPos: gridPos,
    targets: std.mapWithIndex(function(i, target) target { refId: std.char(std.codepoint('A') + i) }, targets),
    fieldConfig+: { defaults+: { unit: unit } },
  },
  local timeseries = panel('timeseries', timeseriesBase),
  local stat = panel('stat', statBase),
  local table = panel('table', tableBase),
  local heatmap = panel('heatmap', heatmapBase),
  // A row across the 24 columns; a collapsed row holds its panels.
  local row(id, title, y, collapsed, panels) = {
    type: 'row',
    id: id,
    title: title,
    collapsed: collapsed,
    gridPos: { h: 1, w: 24, x: 0, y: y },
    panels: panels,
  },

  // A table of instant queries merged into one row per label set: columns is a list of
  // { name, unit, expr }, one query and one value column each (Grafana names them Value #A, ...).
  local mergedTable(id, title, gridPos, description, columns) =
    table(id, title, columns[0].unit, gridPos, description,
          [tableQuery(column.expr, '__auto') for column in columns]) + {
      local names = { ['Value #' + std.char(std.codepoint('A') + i)]: columns[i].name for i in std.range(0, std.length(columns) - 1) },
      fieldConfig+: {
        overrides: [
          { matcher: { id: 'byName', options: column.name }, properties: [{ id: 'unit', value: column.unit }] }
          for column in columns[1:]
        ],
      },
      options+: { sortBy: [{ displayName: columns[0].name, desc: true }] },
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: { Time: true, __name__: true }, renameByName: names } },
      ],
    },
  // A template variable offering the values of one label: label_values(selector, label).
  local labelVariable(name, label, selector, includeAll, allValue) = {
    local definition = 'label_values(%s, %s)' % [selector, name],
    name: name,
    label: label,
    type: 'query',
    datasource: datasource,
    definition: definition,
    query: { qryType: 1, query: definition, refId: name },
    current: {},
    hide: 0,
    includeAll: includeAll,
    multi: includeAll,
    options: [],
    refresh: 2,
    regex: '',
    sort: 1,
  } + (if includeAll then { allValue: allValue } else {}),

  grafanaDashboards+:: {
    local exporter = $._config.memfdExporterSelector,
    local ksm = d.kubeStateMetricsSelector,
    // The per-comm and per-cgroup columns of the "who is doing it" tables.
    local commCalls = 'sum by (instance, comm) (instance_comm:memfd_create_calls:rate5m%(selector)s)',
    local commLive = 'sum by (instance, comm) (memfd_live_allocated_bytes%(selector)s)',
    local containerCalls = byContainer('sum', function(m) 'instance_cgroup:memfd_create_calls_by_cgroup:rate5m{%s}' % m),
    local containerLive = byContainer('sum', function(m) 'memfd_live_allocated_bytes_by_cgroup{%s}' % m),

    'memfd_exporter.json':
      {
        uid: d.uid,
        title: d.title,
        description: "memfd activity counted by memfd_exporter's eBPF probes (memfd_create, requested sizes, fileless execution, memfd_secret), the memfd memory alive now, and the exporter's own health; who is doing it by instance, comm, and namespace / pod / container (kube-state-metrics) or cgroup.",
        tags: d.tags,
        editable: true,
        graphTooltip: 1,
        schemaVersion: 39,
        version: 1,
        time: { from: d.timeFrom, to: 'now' },
        refresh: d.refresh,
        timezone: '',
        fiscalYearStartMonth: 0,
        liveNow: false,
        weekStart: '',
        links: [{ title: 'Runbook', url: $._config.runbookUrlBase, type: 'link', icon: 'doc', targetBlank: true }],
        annotations: {
          list: [
            {
              // A mark on every graph where a memfd alert of the selected job and instances fired.
              name: 'memfd alerts',
              datasource: datasource,
              enable: true,
              hide: false,
              iconColor: 'red',
              expr: 'ALERTS{%(alerts)s, alertstate="firing"} or ALERTS{%(rulesFailing)s, alertstate="firing"}' % placeholders,
              step: '30s',
              titleFormat: '{{alertname}}',
              textFormat: '{{severity}} {{instance}} {{comm}}',
              tagKeys: 'alertname,severity',
              useValueForTime: false,
            },
          ],
        },
        templating: {
          list: [
            {
              name: 'datasource',
              label: 'Data source',
              type: 'datasource',
              query: 'prometheus',
              current: {},
              hide: 0,
              includeAll: false,
              multi: false,
              options: [],
              refresh: 1,
              regex: '',
            },
            labelVariable('job', 'Job', 'memfd_exporter_build_info{%s}' % exporter, false, null),
            labelVariable('instance', 'Instance', 'memfd_exporter_build_info{%s, job=~"$job"}' % exporter, true, '.+'),
            // The drill-down: each offers what kube-state-metrics knows under the one before.
            labelVariable('namespace', 'Namespace', 'kube_pod_container_info{%s}' % ksm, true, '.*'),
            labelVariable('pod', 'Pod', 'kube_pod_container_info{%s, namespace=~"$namespace"}' % ksm, true, '.*'),
            labelVariable('container', 'Container', 'kube_pod_container_info{%s, namespace=~"$namespace", pod=~"$pod"}' % ksm, true, '.*'),
            // The fallback: cgroup paths, for cgroups that kube-state-metrics does not name.
            labelVariable('cgroup', 'cgroup', 'memfd_create_calls_by_cgroup_total{%s, job=~"$job", instance=~"$instance"}' % exporter, true, '.*'),
          ],
        },
        panels: [
          row(40, 'Who is doing it', y=0, collapsed=false, panels=[]),
          stat(2,
               'Calls/s',
               'ops',
               { h: 4, w: 5, x: 0, y: 1 },
               'memfd_create(2) calls per second on the selected instances, from the per-CPU total that counts every call (memfd_create_observed_calls_total).',
               [
                 rangeQuery('sum(rate(memfd_create_observed_calls_total%(selector)s[$__rate_interval]))', '__auto'),
               ]),
          stat(3,
               'Failures/s',
               'ops',
               { h: 4, w: 5, x: 5, y: 1 },
               'Failed memfd_create(2) calls per second on the selected instances (memfd_create_observed_failures_total).',
               [
                 rangeQuery('sum(rate(memfd_create_observed_failures_total%(selector)s[$__rate_interval]))', '__auto'),
               ]),
          stat(4,
               'Unrecorded calls/s',
               'ops',
               { h: 4, w: 5, x: 10, y: 1 },
               'Calls counted in the totals only, because a per-key BPF map was full (memfd_create_unrecorded_total, all maps). Above 0: see the runbook, MemfdCreateUnrecorded.',
               [
                 rangeQuery('sum(rate(memfd_create_unrecorded_total%(selector)s[$__rate_interval]))', '__auto'),
               ]) + runbookLinks(['MemfdCreateUnrecorded']) + {
            fieldConfig+: {
              defaults+: {
                thresholds+: { steps: [{ color: 'green', value: null }, { color: 'orange', value: 1e-06 }] },
              },
            },
          },
          stat(5,
               'Targets up / total',
               'none',
               { h: 4, w: 9, x: 15, y: 1 },
               'Selected memfd_exporter targets that answered their last scrape (sum of up), all selected targets (count of up), and those whose last scrape failed (count of up == 0), red from one. A target Prometheus no longer scrapes at all is in none of them: MemfdExporterDown watches for that.',
               [
                 rangeQuery('sum(up%(selector)s)', 'up'),
                 rangeQuery('count(up%(selector)s)', 'total'),
                 rangeQuery('count(up%(selector)s == 0) or vector(0)', 'down'),
               ]) + runbookLinks(['MemfdExporterDown']) + {
            fieldConfig+: {
              defaults+: { color: { mode: 'fixed', fixedColor: 'text' } },
              overrides: [
                {
                  matcher: { id: 'byName', options: 'down' },
                  properties: [
                    { id: 'color', value: { mode: 'thresholds' } },
                    { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] } },
                  ],
                },
              ],
            },
            options+: { colorMode: 'background', graphMode: 'none', textMode: 'value_and_name' },
          },
          table(41,
                'Firing memfd alerts',
                'dateTimeAsIso',
                { h: 6, w: 24, x: 0, y: 5 },
                'The memfd alerts firing now for the selected job and instances, with their labels and the time each became active (ALERTS_FOR_STATE, which Prometheus keeps across its restarts). Alerts about the job as a whole (no instance label) show whatever the instance selection, and MemfdAlertRulesFailing (a Prometheus failing to evaluate these rules) always shows. Each alert has a section in the runbook (dashboard link Runbook).',
                [
                  tableQuery('(ALERTS_FOR_STATE{%(alerts)s} * 1000 and ignoring (alertstate) ALERTS{%(alerts)s, alertstate="firing"})'
                             + ' or (ALERTS_FOR_STATE{%(rulesFailing)s} * 1000 and ignoring (alertstate) ALERTS{%(rulesFailing)s, alertstate="firing"})', '__auto'),
                ]) + runbookLinks(['MemfdAlertRulesFailing']) + {
            options+: { sortBy: [{ displayName: 'Value', desc: false }] },
            transformations: [
              { id: 'organize', options: { excludeByName: { Time: true, __name__: true }, renameByName: { Value: 'active since' } } },
            ],
          },
          mergedTable(42,
                      'Who is doing it: processes',
                      { h: 10, w: 12, x: 0, y: 11 },
                      "By instance and comm: memfd_create(2) calls per second (5-minute average, instance_comm:memfd_create_calls:rate5m; the calling thread's comm), memfd memory allocated now (memfd_live_allocated_bytes; the comm of the lowest pid holding each memfd) and first seen: the earliest scrape within the dashboard's time range that carried either series (min_over_time(timestamp(...)[$__range:]), to the rule evaluation interval; a comm older than the range shows the range's start). The 50 largest by each value. Comms are chosen by the processes themselves; the table on the right says which container.",
                      [
                        { name: 'calls/s', unit: 'ops', expr: 'topk(50, %s)' % commCalls },
                        { name: 'live bytes', unit: 'bytes', expr: 'topk(50, %s)' % commLive },
                        {
                          name: 'first seen',
                          unit: 'dateTimeAsIso',
                          expr: 'min by (instance, comm) (%s)\nand on (instance, comm)\n(topk(50, %s) or topk(50, %s))'
                                % [firstSeen('memfd_create_calls_total%(selector)s') + '\nor\n' + firstSeen('label_replace(memfd_live_allocated_bytes%(selector)s, "live", "1", "", "")'), commCalls, commLive],
                        },
                      ]),
          mergedTable(43,
                      'Who is doing it: containers and cgroups',
                      { h: 10, w: 12, x: 12, y: 11 },
                      "By instance and container (namespace, pod and container from kube-state-metrics' kube_pod_container_info, joined on container_id) or, for cgroups it does not name, by cgroup path: memfd_create(2) calls per second (instance_cgroup:memfd_create_calls_by_cgroup:rate5m), memfd memory allocated now (memfd_live_allocated_bytes_by_cgroup) and first seen, as in the processes table. The namespace, pod and container variables narrow the containers; the cgroup variable narrows the paths.",
                      [
                        { name: 'calls/s', unit: 'ops', expr: containerCalls },
                        { name: 'live bytes', unit: 'bytes', expr: containerLive },
                        {
                          name: 'first seen',
                          unit: 'dateTimeAsIso',
                          expr: byContainer('min', function(m) firstSeen('memfd_create_calls_by_cgroup_total{%s}' % m)),
                        },
                      ]),
          row(1, 'memfd_create activity', y=21, collapsed=false, panels=[]),
          timeseries(6,
                     'Calls/s by comm (top 10)',
                     'ops',
                     { h: 8, w: 12, x: 0, y: 22 },
                     "memfd_create(2) calls per second by the calling thread's comm, 5-minute average (recording rule instance_comm:memfd_create_calls:rate5m), by instance; the 10 with the highest peak in the dashboard's range. Comms first seen after --collector.max-comms comms got a series are summed as (other). Above 100/s alerts by default (MemfdCreateFlood).",
                     [
                       rangeQuery(topkOverRange(10, 'instance, comm', 'sum by (instance, comm) (instance_comm:memfd_create_calls:rate5m%(selector)s)'), '{{instance}} {{comm}}'),
                     ]) + runbookLinks(['MemfdCreateFlood']),
          timeseries(7,
                     'Calls/s by container or cgroup (top 10)',
                     'ops',
                     { h: 8, w: 12, x: 12, y: 22 },
                     "memfd_create(2) calls per second, 5-minute average, by namespace, pod and container (kube-state-metrics' kube_pod_container_info joined on container_id) or, for cgroups it does not name, by cgroup path (instance_cgroup:memfd_create_calls_by_cgroup:rate5m); the 10 with the highest peak in the dashboard's range.",
                     [
                       rangeQuery(topkOverRange(10, 'instance, namespace, pod, container, cgroup', containerCalls), '{{instance}} {{namespace}} {{pod}} {{container}}{{cgroup}}'),
                     ]),
          timeseries(8,
                     'Calls/s by flags',
                     'ops',
                     { h: 8, w: 12, x: 0, y: 30 },
                     'memfd_create(2) calls per second by flags argument (MFD_* names joined by |; none for 0; invalid for undefined bits), from memfd_create_calls_by_flags_total.',
                     [
                       rangeQuery('sum by (flags) (rate(memfd_create_calls_by_flags_total%(selector)s[$__rate_interval]))', '{{flags}}'),
                     ]),
          timeseries(9,
                     'Failures/s by errno',
                     'ops',
                     { h: 8, w: 12, x: 12, y: 30 },
                     'Failed memfd_create(2) calls per second by errno, 5-minute average (recording rule instance_comm_errno:memfd_create_failures:rate5m). EMFILE, ENOMEM and EACCES alert (MemfdCreateFailures).',
                     [
                       rangeQuery('sum by (errno) (instance_comm_errno:memfd_create_failures:rate5m%(selector)s)', '{{errno}}'),
                     ]) + runbookLinks(['MemfdCreateFailures']),
          timeseries(10,
                     'Failures/s by comm and errno (top 10)',
                     'ops',
                     { h: 8, w: 12, x: 0, y: 38 },
                     "The comms whose memfd_create(2) calls fail most, by instance and errno, 5-minute average (instance_comm_errno:memfd_create_failures:rate5m); the 10 with the highest peak in the dashboard's range (MemfdCreateFailures).",
                     [
                       rangeQuery(topkOverRange(10, 'instance, comm, errno', 'sum by (instance, comm, errno) (instance_comm_errno:memfd_create_failures:rate5m%(selector)s)'), '{{instance}} {{comm}} {{errno}}'),
                     ]) + runbookLinks(['MemfdCreateFailures']),
          timeseries(11,
                     'Calls/s by cgroup (top 10)',
                     'ops',
                     { h: 8, w: 12, x: 12, y: 38 },
                     "memfd_create(2) calls per second by the caller's cgroup v2 path (container, pod, systemd unit), narrowed by the cgroup variable, 5-minute average (recording rule instance_cgroup:memfd_create_calls_by_cgroup:rate5m); the 10 with the highest peak in the dashboard's range.",
                     [
                       rangeQuery(topkOverRange(10, 'instance, cgroup', 'sum by (instance, cgroup) (instance_cgroup:memfd_create_calls_by_cgroup:rate5m{%(matchers)s, cgroup=~"$cgroup"})'), '{{instance}} {{cgroup}}'),
                     ]),
          row(12, 'Bursts: calls per process per second', y=46, collapsed=false, panels=[]),
          heatmap(13,
                  'Calls per process per second',
                  'short',
                  { h: 9, w: 24, x: 0, y: 47 },
                  'How many memfd_create(2) calls one process made in one second: each cell is the rate, per second, of the one-second windows whose call count fell in that log2 bucket (rate() of memfd_create_calls_per_process_second_bucket: a rate, so cells do not double-count when the step is shorter than the window). Windows above 4096 calls alert by default (MemfdCreateBurst).',
                  [
                    heatmapQuery('sum by (le) (rate(memfd_create_calls_per_process_second_bucket%(selector)s[$__rate_interval]))', '{{le}}'),
                  ]) + runbookLinks(['MemfdCreateBurst']) + { options+: { cellValues: { unit: 'ops' } } },
          row(22, 'Live memfd memory', y=56, collapsed=false, panels=[]),
          timeseries(26,
                     'Allocated memfd memory by instance and comm (top 10)',
                     'bytes',
                     { h: 8, w: 12, x: 0, y: 57 },
                     "Memory allocated (RAM or swap) to the memfds alive at the last live scan, by instance and the comm of the lowest pid holding each (memfd_live_allocated_bytes); the 10 with the highest peak in the dashboard's range. It is in no process's RSS. Above 1 GiB per comm alerts by default (MemfdLiveMemoryHigh).",
                     [
                       rangeQuery(topkOverRange(10, 'instance, comm', 'sum by (instance, comm) (memfd_live_allocated_bytes%(selector)s)'), '{{instance}} {{comm}}'),
                     ]) + runbookLinks(['MemfdLiveMemoryHigh']),
          timeseries(27,
                     'Allocated and apparent memfd memory by instance',
                     'bytes',
                     { h: 8, w: 12, x: 12, y: 57 },
                     'All live memfds of each instance: allocated bytes (memfd_live_allocated_bytes) against their apparent size (memfd_live_apparent_bytes), which is larger for sparse memfds.',
                     [
                       rangeQuery('sum by (instance) (memfd_live_allocated_bytes%(selector)s)', '{{instance}} allocated'),
                       rangeQuery('sum by (instance) (memfd_live_apparent_bytes%(selector)s)', '{{instance}} apparent'),
                     ]),
          timeseries(44,
                     'Allocated memfd memory by container or cgroup (top 10)',
                     'bytes',
                     { h: 8, w: 12, x: 0, y: 65 },
                     "Memory allocated to the live memfds, by namespace, pod and container (kube-state-metrics' kube_pod_container_info joined on container_id) or, for cgroups it does not name, by cgroup path (memfd_live_allocated_bytes_by_cgroup); the 10 with the highest peak in the dashboard's range.",
                     [
                       rangeQuery(topkOverRange(10, 'instance, namespace, pod, container, cgroup', containerLive), '{{instance}} {{namespace}} {{pod}} {{container}}{{cgroup}}'),
                     ]),
          timeseries(28,
                     'Live memfds by instance and comm (top 10)',
                     'short',
                     { h: 8, w: 12, x: 12, y: 65 },
                     "Memfds alive at the last live scan, by instance and the comm of the lowest pid holding each (memfd_live_files); the 10 with the highest peak in the dashboard's range.",
                     [
                       rangeQuery(topkOverRange(10, 'instance, comm', 'sum by (instance, comm) (memfd_live_files%(selector)s)'), '{{instance}} {{comm}}'),
                     ]),
          timeseries(29,
                     'Live scan age and duration',
                     's',
                     { h: 8, w: 12, x: 0, y: 73 },
                     'Age of the last completed live scan (the memfd_live_* values are as of then; time() - memfd_exporter_live_last_scan_timestamp_seconds) and how long it took. An age above 120 s for 5 minutes alerts (MemfdExporterLiveScanStale).',
                     [
                       rangeQuery('time() - memfd_exporter_live_last_scan_timestamp_seconds%(selector)s', '{{instance}} age'),
                       rangeQuery('memfd_exporter_live_scan_duration_seconds%(selector)s', '{{instance}} duration'),
                     ]) + runbookLinks(['MemfdExporterLiveScanStale']),
          timeseries(30,
                     'Live scan coverage',
                     'short',
                     { h: 8, w: 12, x: 12, y: 73 },
                     'Processes and fds the last live scan examined, processes it did not examine completely by reason (budget: --collector.live.max-fds reached; denied; error), and scans that failed as a whole.',
                     [
                       rangeQuery('memfd_exporter_live_scanned_processes%(selector)s', '{{instance}} processes'),
                       rangeQuery('memfd_exporter_live_scanned_fds%(selector)s', '{{instance}} fds'),
                       rangeQuery('memfd_exporter_live_skipped_processes%(selector)s', '{{instance}} skipped: {{reason}}'),
                       rangeQuery('increase(memfd_exporter_live_scan_errors_total%(selector)s[$__rate_interval])', '{{instance}} failed scans'),
                     ]),
          row(14, 'Exporter health', y=81, collapsed=false, panels=[]),
          timeseries(15,
                     'Collector success',
                     'bool_yes_no',
                     { h: 8, w: 8, x: 0, y: 82 },
                     '1 while a collector succeeds, 0 when it fails (its families are then missing from the scrape; memfd_exporter_collector_success). Alerts: MemfdExporterCollectorFailing, MemfdExporterNotCounting.',
                     [
                       rangeQuery('memfd_exporter_collector_success%(selector)s', '{{instance}} {{collector}}'),
                     ]) + runbookLinks(['MemfdExporterCollectorFailing', 'MemfdExporterNotCounting']) + { fieldConfig+: { defaults+: { max: 1 } } },
          timeseries(16,
                     'Collector duration',
                     's',
                     { h: 8, w: 8, x: 8, y: 82 },
                     'Time each collector took in the last scrape (memfd_exporter_collector_duration_seconds): reading the BPF maps and building the snapshot.',
                     [
                       rangeQuery('memfd_exporter_collector_duration_seconds%(selector)s', '{{instance}} {{collector}}'),
                     ]),
          timeseries(17,
                     'BPF map fill',
                     'percentunit',
                     { h: 8, w: 8, x: 16, y: 82 },
                     'Entries over capacity of each BPF hash map (memfd_exporter_bpf_map_entries / memfd_exporter_bpf_map_capacity). A full map sends new keys to memfd_create_unrecorded_total.',
                     [
                       rangeQuery('memfd_exporter_bpf_map_entries%(selector)s / memfd_exporter_bpf_map_capacity%(selector)s', '{{instance}} {{map}}'),
                     ]) + { fieldConfig+: { defaults+: { max: 1 } } },
          timeseries(18,
                     'Unrecorded calls/s by map',
                     'ops',
                     { h: 8, w: 8, x: 0, y: 90 },
                     'Calls (or failures, for map failures_by_comm) per second that a full map could not record per key; they are still in the totals (memfd_create_unrecorded_total). Alert: MemfdCreateUnrecorded.',
                     [
                       rangeQuery('rate(memfd_create_unrecorded_total%(selector)s[$__rate_interval])', '{{instance}} {{map}}'),
                     ]) + runbookLinks(['MemfdCreateUnrecorded']),
          timeseries(19,
                     'BPF program CPU',
                     'percentunit',
                     { h: 8, w: 8, x: 8, y: 90 },
                     "Share of one CPU each of the exporter's BPF programs used (memfd_exporter_bpf_program_run_time_seconds_total); 0 unless sysctl kernel.bpf_stats_enabled=1.",
                     [
                       rangeQuery('rate(memfd_exporter_bpf_program_run_time_seconds_total%(selector)s[$__rate_interval])', '{{instance}} {{program}}'),
                     ]),
          table(20,
                'Versions',
                'none',
                { h: 8, w: 8, x: 16, y: 90 },
                'Exporter, libbpf and Java versions of each selected instance (memfd_exporter_build_info).',
                [
                  tableQuery('memfd_exporter_build_info%(selector)s', '__auto'),
                ]) + {
            transformations: [
              {
                id: 'organize',
                options: { excludeByName: { Time: true, __name__: true, Value: true } },
              },
            ],
          },
          row(21, 'memfd sizes', y=98, collapsed=true, panels=[
            timeseries(24,
                       'Requested bytes/s by comm (top 10)',
                       'binBps',
                       { h: 8, w: 12, x: 0, y: 99 },
                       'Bytes per second that successful ftruncate(2) and fallocate(2) calls on memfds requested, by instance and comm, 5-minute average (recording rule instance_comm:memfd_requested_bytes:rate5m), the 10 with the highest peak in the range of the dashboard; (unrecorded) is what a full requested_bytes_by_comm map could not attribute. Requests, not memory in use: see Live memfd memory.',
                       [
                         rangeQuery(topkOverRange(10, 'instance, comm', 'sum by (instance, comm) (instance_comm:memfd_requested_bytes:rate5m%(selector)s)'), '{{instance}} {{comm}}'),
                         rangeQuery('sum(rate(memfd_requested_unrecorded_bytes_total%(selector)s[$__rate_interval]))', '(unrecorded)'),
                       ]),
            heatmap(25,
                    'Requested memfd sizes',
                    'short',
                    { h: 8, w: 12, x: 12, y: 99 },
                    'How large the memfds that ftruncate(2) and fallocate(2) asked for were: each cell is the rate, per second, of the requests whose size fell in that power-of-two bucket (rate() of memfd_requested_size_bytes_bucket). Requests above 4 GiB alert by default (MemfdHugeSizeRequested).',
                    [
                      heatmapQuery('sum by (le) (rate(memfd_requested_size_bytes_bucket%(selector)s[$__rate_interval]))', '{{le}}'),
                    ]) + runbookLinks(['MemfdHugeSizeRequested']) + { options+: { cellValues: { unit: 'ops' }, yAxis+: { unit: 'bytes', axisLabel: 'requested size' } } },
          ]),
          row(23, 'Fileless execution', y=99, collapsed=true, panels=[
            table(31,
                  'memfd executions in the last hour',
                  'short',
                  { h: 8, w: 12, x: 0, y: 100 },
                  "Executions of memfds in the last hour by instance, comm (the caller before exec renamed it), memfd_name_kind and via (binary: the memfd was the executable; interpreter: a #! script in a memfd run by its interpreter) (recording rule instance_comm_memfd_name_kind:memfd_exec:increase1h, which counts a comm's first execution too). Every row of kind other alerts (MemfdFilelessExecution); runc is runc re-executing its cloned binary.",
                  [
                    tableQuery('instance_comm_memfd_name_kind:memfd_exec:increase1h%(selector)s > 0', '__auto'),
                  ]) + runbookLinks(['MemfdFilelessExecution']),
            timeseries(32,
                       'memfd executions/s',
                       'ops',
                       { h: 8, w: 12, x: 12, y: 100 },
                       "Executions of memfds per second: all that the probe saw (memfd_exec_observed_total), by kind (memfd_exec_total; a comm's first execution starts its series and shows only in the first line), and those a full execs_by_comm map could not attribute (memfd_exec_unrecorded_total).",
                       [
                         rangeQuery('sum by (instance) (rate(memfd_exec_observed_total%(selector)s[$__rate_interval]))', '{{instance}} all'),
                         rangeQuery('sum by (instance, memfd_name_kind, via) (rate(memfd_exec_total%(selector)s[$__rate_interval]))', '{{instance}} {{memfd_name_kind}} {{via}}'),
                         rangeQuery('rate(memfd_exec_unrecorded_total%(selector)s[$__rate_interval])', '{{instance}} unrecorded'),
                       ]),
            table(36,
                  'Executable memfd mappings in the last hour',
                  'short',
                  { h: 8, w: 12, x: 0, y: 108 },
                  "mmap(2), mprotect(2) and pkey_mprotect(2) calls that made memfd pages executable in the last hour, by instance, comm and kind (recording rule instance_comm_kind:memfd_exec_mappings:increase1h). kind is what the kernel saw, not the memfd's name: plain (written, then mapped executable: loaders, dlopen of a memfd), sealed (write-sealed memfd), double_mapped (also mapped writable: JIT W^X, e.g. .NET). Rows alert (MemfdExecutableMapping) unless exempted for their comm and kind.",
                  [
                    tableQuery('instance_comm_kind:memfd_exec_mappings:increase1h%(selector)s > 0', '__auto'),
                  ]) + runbookLinks(['MemfdExecutableMapping']),
            timeseries(37,
                       'Executable memfd mappings/s',
                       'ops',
                       { h: 8, w: 12, x: 12, y: 108 },
                       "Calls that made memfd pages executable per second: all that the probe saw (memfd_exec_mappings_observed_total), by system call and kind (memfd_exec_mappings_total; a comm's first call starts its series and shows only in the first line), and those a full exec_mappings_by_comm map could not attribute (memfd_exec_mappings_unrecorded_total). Unchecked: calls asking for PROT_EXEC whose mappings could not be examined (memfd_exec_mappings_unchecked_total; MemfdExecutableMappingUnchecked).",
                       [
                         rangeQuery('sum by (instance) (rate(memfd_exec_mappings_observed_total%(selector)s[$__rate_interval]))', '{{instance}} all'),
                         rangeQuery('sum by (instance, syscall, kind) (rate(memfd_exec_mappings_total%(selector)s[$__rate_interval]))', '{{instance}} {{syscall}} {{kind}}'),
                         rangeQuery('rate(memfd_exec_mappings_unrecorded_total%(selector)s[$__rate_interval])', '{{instance}} unrecorded'),
                         rangeQuery('rate(memfd_exec_mappings_unchecked_total%(selector)s[$__rate_interval])', '{{instance}} unchecked'),
                       ]) + runbookLinks(['MemfdExecutableMappingUnchecked']),
            table(38,
                  'Processes running code from memfds now',
                  'short',
                  { h: 8, w: 12, x: 0, y: 116 },
                  "Processes with an executable mapping of a memfd at the last live scan, by instance, comm and kind (memfd_live_executable_processes): exe, the memfd is the process's own executable (exec'ed from a memfd; runc's re-exec shows here for seconds); mapped, memfd code mapped next to it (loaders, JITs). Lasting rows alert (MemfdLiveExecutableCode).",
                  [
                    tableQuery('memfd_live_executable_processes%(selector)s > 0', '__auto'),
                  ]) + runbookLinks(['MemfdLiveExecutableCode']),
            timeseries(39,
                       'Executable memfd memory by comm (top 10)',
                       'bytes',
                       { h: 8, w: 12, x: 12, y: 116 },
                       'Bytes of executable memfd mappings at each live scan, by instance, comm and kind (memfd_live_executable_bytes): how much code runs from memfds; the 10 with the highest peak in the range of the dashboard.',
                       [
                         rangeQuery(topkOverRange(10, 'instance, comm, kind', 'sum by (instance, comm, kind) (memfd_live_executable_bytes%(selector)s)'), '{{instance}} {{comm}} {{kind}}'),
                       ]),
            mergedTable(45,
                        'memfd code by container or cgroup',
                        { h: 8, w: 24, x: 0, y: 124 },
                        "Executions of memfds (memfd_exec_by_cgroup_total) and calls that made memfd pages executable (memfd_exec_mappings_by_cgroup_total) by instance and namespace, pod and container (kube-state-metrics), or cgroup path, as in the containers table of Who is doing it; counted since the exporter started (with --bpf.pin-path, since its maps were made); a removed cgroup's counts move to memfd_by_cgroup_removed_total. First seen: the earliest scrape within the dashboard's range that carried the executions' series. Which comm did it: MemfdFilelessExecution and MemfdExecutableMapping.",
                        [
                          { name: 'executions', unit: 'short', expr: byContainer('sum', function(m) 'memfd_exec_by_cgroup_total{%s}' % m) },
                          { name: 'executable mappings', unit: 'short', expr: byContainer('sum', function(m) 'memfd_exec_mappings_by_cgroup_total{%s}' % m) },
                          {
                            name: 'first seen',
                            unit: 'dateTimeAsIso',
                            expr: byContainer('min', function(m) firstSeen('memfd_exec_by_cgroup_total{%s}' % m)),
                          },
                        ]) + runbookLinks(['MemfdFilelessExecution', 'MemfdExecutableMapping']),
          ]),
          row(33, 'memfd_secret', y=100, collapsed=true, panels=[
            table(34,
                  'memfd_secret calls in the last hour',
                  'short',
                  { h: 8, w: 12, x: 0, y: 101 },
                  "memfd_secret(2) calls, failed ones included, in the last hour by instance and comm (recording rule instance_comm:memfd_secret_calls:increase1h, which counts a comm's first call too). Every row alerts unless the comm has a threshold of its own (MemfdSecretUsed).",
                  [
                    tableQuery('instance_comm:memfd_secret_calls:increase1h%(selector)s > 0', '__auto'),
                  ]) + runbookLinks(['MemfdSecretUsed']),
            timeseries(35,
                       'memfd_secret failures/s by comm and errno',
                       'ops',
                       { h: 8, w: 12, x: 12, y: 101 },
                       'memfd_secret(2) calls per second that failed, by comm and errno (memfd_secret_failures_total; ENOSYS: secretmem disabled at boot), and calls a full map could not attribute (memfd_secret_unrecorded_total).',
                       [
                         rangeQuery('sum by (comm, errno) (rate(memfd_secret_failures_total%(selector)s[$__rate_interval]))', '{{comm}} {{errno}}'),
                         rangeQuery('rate(memfd_secret_unrecorded_total%(selector)s[$__rate_interval])', '{{instance}} unrecorded ({{map}})'),
                       ]),
          ]),
        ],
      },
  },
}
