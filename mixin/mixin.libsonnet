// memfd_exporter's monitoring mixin: import this file and override _config (see
// config.libsonnet and README.md). prometheusRules records the alert thresholds and the
// rates the alerts and the dashboard read; prometheusAlerts needs both.
(import 'config.libsonnet')
+ (import 'rules.libsonnet')
+ (import 'alerts.libsonnet')
+ (import 'dashboards.libsonnet')
