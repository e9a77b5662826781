"""Which namespace an observation belongs to: ``NAMESPACE=VALUE`` arguments, Envoy namespaces.

Shared by :mod:`seldon_doctor.sources.collect` (``--envoy-config-dump``) and
:mod:`seldon_doctor.sources.dataplane` (``--envoy-admin``, ``--scheduler``, state files), which
used to import each other inside function bodies for these two helpers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from seldon_doctor.snapshot import KubeObject

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def split_dump_arg(value: str) -> tuple[str | None, str]:
    """``NAMESPACE=PATH`` or a bare ``PATH``."""
    if "=" in value:
        namespace, path = value.split("=", 1)
        if _NAMESPACE.match(namespace):
            return namespace, path
    return None, value


def envoy_namespaces(objects: Sequence[KubeObject]) -> set[str]:
    """Namespaces that run an Envoy: a seldon-envoy Deployment/pod, or a runtime that makes one."""
    out = set()
    for obj in objects:
        if (obj.kind == "Deployment" and obj.name == "seldon-envoy") or (
            obj.kind == "Pod" and obj.labels.get("app.kubernetes.io/name") == "seldon-envoy"
        ):
            out.add(obj.namespace)
        elif obj.kind == "SeldonRuntime":
            disabled = any(
                isinstance(o, dict)
                and o.get("name") == "seldon-envoy"
                and (o.get("disable") is True or o.get("replicas") == 0)
                for o in obj.spec.get("overrides") or []
            )
            if not disabled:
                out.add(obj.namespace)
    return out
