"""SD606 evidence end to end: what a scheduler serves vs what a real Envoy holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seldon_doctor.clients import envoy_admin
from seldon_doctor.clients.xds_client import fetch_xds
from seldon_doctor.domain.xds_diff import (
    diff_resources,
    resources_from_config_dump,
    resources_from_snapshot,
)
from tests.conftest import NEEDS_SHARED
from tests.dataplane.conftest import INTERNAL_MODEL, MODEL, EnvoyHandle
from tests.dataplane.xds_server import XdsTestServer, seldon_resources

SHARED_DUMP = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "envoy"
    / "envoy-1.40-seldon-shaped.config_dump.json"
)


@pytest.mark.dataplane
def test_envoy_in_sync_with_its_xds_server(envoy: EnvoyHandle) -> None:
    served = resources_from_snapshot(fetch_xds(envoy.xds.target, timeout=5.0, quiet=0.3))
    held = resources_from_config_dump(envoy_admin.fetch_config_dump(envoy.admin_url))
    diff = diff_resources(served, held, route_configs=("listener_0",))
    assert diff.in_sync, diff
    assert diff.routes_only_served == diff.routes_only_in_envoy == ()


@pytest.mark.dataplane
def test_envoy_following_another_scheduler_is_visible(
    envoy: EnvoyHandle, listener_port: int, agent_proxy: object
) -> None:
    """A second xDS server (another scheduler) serves a model this Envoy never heard of."""
    other = XdsTestServer()
    other.replace(
        seldon_resources(
            listener_port=listener_port,
            upstream_port=1,
            models={MODEL: {INTERNAL_MODEL: 100}, "wine": {"wine_1": 100}},
        )
    )
    with other:
        served = resources_from_snapshot(fetch_xds(other.target, timeout=5.0, quiet=0.3))
    held = resources_from_config_dump(envoy_admin.fetch_config_dump(envoy.admin_url))
    diff = diff_resources(served, held, route_configs=("listener_0",))
    assert not diff.in_sync
    assert diff.routes_only_served == ("wine_http",)
    assert diff.kinds["clusters"].only_served == ("wine_1_http",)
    assert diff.kinds["clusters"].different == (f"{INTERNAL_MODEL}_http",)  # other endpoint port
    assert diff.kinds["routes"].different == ("listener_0",)


def test_reduces_the_shared_real_dump() -> None:
    if not SHARED_DUMP.exists():
        pytest.skip(NEEDS_SHARED)
    held = resources_from_config_dump(json.loads(SHARED_DUMP.read_text()))
    assert set(held["listeners"]) == {"seldon_http"}
    assert set(held["clusters"]) == {"echo_1_http", "echo_2_http"}  # xds_cluster is static
    assert set(held["routes"]) == {"listener_0"}
    assert "@type" not in held["routes"]["listener_0"]


def test_garbage_is_empty_not_an_error() -> None:
    assert resources_from_config_dump({"configs": [None, {"@type": 3}]}) == {
        "listeners": {},
        "clusters": {},
        "routes": {},
    }
