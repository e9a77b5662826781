"""Network clients of a Seldon Core v2 data plane: Envoy admin, the scheduler's xDS and status API.

Every module here keeps its heavy imports (grpc, protobuf, envoy_data_plane) inside functions,
so importing any of them is cheap. Every network call has a deadline and every failure is a
:class:`DataplaneUnavailable` with a one-line reason.

* :mod:`seldon_doctor.clients.envoy_admin`: an Envoy's ``/config_dump``, ``/ready``, ``/stats``.
* :mod:`seldon_doctor.clients.xds_client`: fetch what an xDS server (the scheduler, port 9002)
  serves to an Envoy node, over Delta ADS.
* :mod:`seldon_doctor.clients.scheduler_api`: the scheduler's ``*Status`` RPCs (port 9004).
* :mod:`seldon_doctor.clients.readiness`: one OIP readiness GET through Envoy's listener, and
  who answered it (``trace --probe``; the load generator of ``probe`` is
  :mod:`seldon_doctor.probe`).

What they return is pure data and lives in :mod:`seldon_doctor.domain` (``envoy_parse``,
``scheduler_state``, ``xds_state``, ``xds_diff``), so checks and renderers never import a client.
"""

from __future__ import annotations

from seldon_doctor.clients.errors import DataplaneUnavailable

__all__ = ["DataplaneUnavailable"]
