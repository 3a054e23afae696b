// The recording rules (the alert thresholds included) as a Prometheus rule file (JSON, which is YAML).
(import 'mixin.libsonnet').prometheusRules
