"""``seldon-doctor serve`` (a long-running, read-only Prometheus exporter) and
``scan --push-gateway``.

``schedule`` decides when to scan, ``job`` runs one scan through ``app.scan.run_scan`` into
``state`` (the last good report, counters, readiness), ``collector`` turns
``render.metric_families`` into prometheus_client families, ``endpoints`` serves them and the
report, ``run`` wires it together with signals, and ``push`` delivers the same families to a
Pushgateway. prometheus_client is imported only inside functions.
"""
