"""Probe observations recorded in files (``probe -o json`` output, fixtures' ``probes/*.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seldon_doctor.safeio import MAX_REPORT_BYTES, read_json_file
from seldon_doctor.snapshot import Origin, ProbeObservation, observation_from_dict


def load_probe_files(paths: Sequence[Any]) -> list[ProbeObservation]:
    """Probe observations from JSON files: one observation, a list, or ``probe -o json``."""
    out = []
    for path in paths:
        data = read_json_file(path, MAX_REPORT_BYTES, str(path))
        items = data if isinstance(data, list) else [data]
        for item in items:
            body = item.get("observation", item) if isinstance(item, dict) else item
            if not isinstance(body, dict):
                raise ValueError(f"{path}: not a probe observation")
            out.append(observation_from_dict(body, Origin(file=str(path))))
    return out
