// The alerting rules as a Prometheus rule file (JSON, which is YAML): jsonnet -J vendor mixin/alerts.jsonnet
(import 'mixin.libsonnet').prometheusAlerts
