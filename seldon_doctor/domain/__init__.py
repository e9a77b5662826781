"""Pure domain knowledge: no I/O, no sources, no network clients.

Modules here describe what Seldon, Envoy and Kubernetes *are* (the Envoy config model and its
route matching, scheduler and xDS state types, inference-protocol helpers, NetworkPolicy
evaluation, images, quantities, durations, schema validation, release facts). Checks, ``trace``
and renderers import them; they import nothing from ``sources``, ``dataplane`` clients,
``kubernetes`` or ``grpc`` (``tests/test_architecture.py`` enforces it).
"""
