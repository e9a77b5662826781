"""Helpers shared by several checks that came from ``checks/topology.py``.

Control-plane topology checks: which scheduler does each namespace really reach?
"""

from __future__ import annotations

from seldon_doctor.findings import Evidence
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Consumer

SELDON_SERVICE_NAMES = frozenset({seldon.SCHEDULER, seldon.MESH_SERVICE, "seldon-pipelinegateway"})


def consumer_evidence(consumer: Consumer) -> Evidence:
    return Evidence(
        f"{consumer.role} {consumer.subject}",
        "dials",
        f"{consumer.host}:{consumer.port}",
        f"{consumer.resolution.describe()}; host from {consumer.source}",
    )
