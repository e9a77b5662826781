"""``scan --push-gateway``: the report's families to a Pushgateway, replacing the last push.

prometheus_client's ``push_to_gateway`` is a PUT: everything under the grouping key
(``job`` + ``cluster``) is replaced, so a second push never adds to the first, and a family
that went to zero findings loses its old samples instead of keeping them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from seldon_doctor.render.metric_families import Family
from seldon_doctor.serve.collector import FamiliesCollector

PUSH_TIMEOUT = 10.0
DEFAULT_JOB = "seldon-doctor"


class PushError(Exception):
    """The push did not reach the gateway, or the gateway refused it (one line)."""


def shown_url(url: str) -> str:
    """``url`` without any ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def push_families(
    url: str, job: str, cluster: str, families: Sequence[Family], timeout: float = PUSH_TIMEOUT
) -> None:
    """PUT ``families`` under ``job``/``cluster``; raises PushError with the reason."""
    import urllib.error

    from prometheus_client import CollectorRegistry, push_to_gateway

    if urlsplit(url if "://" in url else f"http://{url}").scheme not in ("http", "https"):
        raise PushError(f"{shown_url(url)} is not an http(s) URL")
    registry = CollectorRegistry()
    collector: Any = FamiliesCollector(lambda: families)
    registry.register(collector)
    try:
        push_to_gateway(
            url, job=job, registry=registry, grouping_key={"cluster": cluster}, timeout=timeout
        )
    except urllib.error.HTTPError as exc:
        body = exc.read(300).decode("utf-8", "replace").strip().splitlines()
        said = f": {body[0]}" if body else ""
        raise PushError(f"{shown_url(url)} answered HTTP {exc.code}{said}") from None
    except urllib.error.URLError as exc:
        raise PushError(f"{shown_url(url)}: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise PushError(f"{shown_url(url)}: {exc}") from None
