"""``seldon-doctor probe`` and ``scan --probe``: measured inference requests through Envoy.

* :mod:`seldon_doctor.probe.runner`: the load generator -- its wire formats (one OIP infer
  request over REST or gRPC, classified), worker threads, a shared pace, the request-count and
  duration bounds -- and the fold of a run into a ``ProbeObservation``.
* :mod:`seldon_doctor.probe.command`: the commands' glue (endpoint, port-forward, report).

What is pure stays in :mod:`seldon_doctor.domain` (``oip``: requests, results and their
classification; ``probe_stats``: latency figures and parsing); the SD8xx checks judge the
observations (``checks.probes``) and ``render.probe_report`` formats them. The single readiness
request of ``trace --probe`` is a client, :mod:`seldon_doctor.clients.readiness`.

Nothing here is imported by ``seldon_doctor`` at start-up; ``cli`` imports ``command`` lazily.
"""
