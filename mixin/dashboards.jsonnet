// The dashboards, one file each: jsonnet -m OUTPUT_DIR mixin/dashboards.jsonnet
(import 'mixin.libsonnet').grafanaDashboards
